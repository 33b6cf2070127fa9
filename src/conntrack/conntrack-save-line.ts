// One line of `conntrack -o save`: the event as conntrack command arguments
// (-A new, -U update, -D destroy), e.g.
// -A -t 120 -u UNSET -s a -d b -r b -q a -p tcp --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1 --state SYN_SENT

import { toInt } from '../util/to-int';
import type { CtEntry, CtEventType, CtParseResult, CtTuple } from './conntrack-entry';

const SAVE_EVENTS: Record<string, CtEventType> = { '-A': 'NEW', '-I': 'NEW', '-U': 'UPDATE', '-D': 'DESTROY' };
const PROTO_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, icmpv6: 58, sctp: 132, dccp: 33 };

export function parseSaveLine(line: string): CtParseResult {
  const tokens = line.split(/\s+/);
  const event = SAVE_EVENTS[tokens[0]!];
  if (!event) return { error: `unknown save-format command ${JSON.stringify(tokens[0])}` };
  const orig: Partial<CtTuple> = {};
  const reply: Partial<CtTuple> = {};
  let proto: string | undefined;
  let status = '';
  let dstNat: string | undefined;
  let srcNat: string | undefined;
  const entry: Partial<CtEntry> = { event };
  for (let i = 1; i < tokens.length; i++) {
    const flag = tokens[i]!;
    const value = tokens[i + 1];
    if (!flag.startsWith('-')) continue;
    if (value === undefined) return { error: `option ${flag} without a value` };
    i++;
    switch (flag) {
      case '-t':
      case '--timeout':
        entry.timeout = toInt(value);
        break;
      case '-u':
      case '--status':
        status = value;
        break;
      case '-s':
      case '--orig-src':
        orig.src = value;
        break;
      case '-d':
      case '--orig-dst':
        orig.dst = value;
        break;
      case '-r':
      case '--reply-src':
        reply.src = value;
        break;
      case '-q':
      case '--reply-dst':
        reply.dst = value;
        break;
      // With NAT, conntrack prints the NAT address instead of the reply tuple's address.
      case '-g':
      case '--dst-nat':
        dstNat = value;
        break;
      case '-n':
      case '--src-nat':
        srcNat = value;
        break;
      case '-p':
      case '--proto':
        proto = value;
        break;
      case '--sport':
      case '--orig-port-src':
        orig.sport = toInt(value);
        break;
      case '--dport':
      case '--orig-port-dst':
        orig.dport = toInt(value);
        break;
      case '--reply-port-src':
        reply.sport = toInt(value);
        break;
      case '--reply-port-dst':
        reply.dport = toInt(value);
        break;
      case '--state':
        entry.state = value;
        break;
      case '-m':
      case '--mark':
        entry.mark = toInt(value);
        break;
      case '-w':
      case '--zone':
        entry.zone = toInt(value);
        break;
      case '--icmp-type':
      case '--icmpv6-type':
        orig.icmpType = toInt(value);
        break;
      case '--icmp-code':
      case '--icmpv6-code':
        orig.icmpCode = toInt(value);
        break;
      case '--icmp-id':
      case '--icmpv6-id':
        orig.icmpId = toInt(value);
        break;
      default:
        // Other options (labels, secmark, zones per direction) are not needed here.
        break;
    }
  }
  if (orig.src === undefined || orig.dst === undefined) return { error: 'save-format line without -s/-d addresses' };
  reply.src ??= dstNat !== undefined ? stripPort(dstNat) : orig.dst;
  reply.dst ??= srcNat !== undefined ? stripPort(srcNat) : orig.src;
  if (proto === undefined) return { error: 'save-format line without -p' };
  const flags = status.split(',');
  // hasOwn: "-p __proto__" or "-p constructor" found Object.prototype's members (protoNum an object).
  const known = Object.hasOwn(PROTO_NUMBERS, proto);
  const protoNum = (known ? PROTO_NUMBERS[proto] : undefined) ?? toInt(proto) ?? 0;
  const full: CtEntry = {
    event,
    family: orig.src.includes(':') ? 'ipv6' : 'ipv4',
    proto: known ? proto : 'unknown',
    protoNum,
    orig: orig as CtTuple,
    reply: reply as CtTuple,
    unreplied: !flags.includes('SEEN_REPLY'),
    assured: flags.includes('ASSURED'),
  };
  for (const key of ['timeout', 'state', 'mark', 'zone'] as const) {
    if (entry[key] !== undefined) (full as unknown as Record<string, unknown>)[key] = entry[key];
  }
  return { entry: full };
}

/** "--dst-nat 192.168.1.2:7892" or "[fd00::2]:7892" → the address alone (the port comes from --reply-port-src). */
function stripPort(text: string): string {
  if (text.startsWith('[')) return text.slice(1, text.indexOf(']'));
  const colon = text.indexOf(':');
  return colon > 0 && text.indexOf(':', colon + 1) < 0 ? text.slice(0, colon) : text;
}
