// Pure parser for one line of `conntrack -E` / `conntrack -L` output in the
// default, extended, id and timestamp formats, plus `-o xml` and `-o save`.
// It never throws: a line it cannot read comes back as { error }.

import { toInt } from '../util/to-int';
import type { CtEntry, CtEventType, CtParseResult, CtTuple } from './conntrack-entry';
import { parseSaveLine } from './conntrack-save-line';
import { parseXmlLine } from './conntrack-xml-line';

const EVENT_TAGS: Record<string, CtEventType> = {
  '[NEW]': 'NEW',
  '[UPDATE]': 'UPDATE',
  '[DESTROY]': 'DESTROY',
};

const MAX_LINE = 4096;

export function parseConntrackLine(raw: string): CtParseResult {
  try {
    return parseLine(raw);
  } catch (err) {
    // The parser is written not to throw; this is the last line of defence
    // for a daemon that must keep running on any input.
    return { error: `unreadable line (${(err as Error).message})` };
  }
}

function parseLine(raw: string): CtParseResult {
  const line = raw.trim();
  if (line === '') return { skip: true };
  if (line.length > MAX_LINE) return { error: `line longer than ${MAX_LINE} characters` };
  const c = line.charCodeAt(0);
  if (c === 60 /* < */) return parseXmlLine(line);
  if (c === 45 /* - */) return parseSaveLine(line);
  if (line.startsWith('conntrack v')) return { skip: true }; // the closing "N flow events have been shown."
  return parseTextLine(line);
}

function parseTextLine(line: string): CtParseResult {
  const tokens = line.split(/\s+/);
  let i = 0;
  let timestamp: number | undefined;
  let tok = tokens[0]!;
  if (tok.startsWith('[') && tok.endsWith(']') && /^\[\d+\.\d+\]$/.test(tok)) {
    timestamp = Number(tok.slice(1, -1));
    tok = tokens[++i] ?? '';
  }
  let event: CtEventType = 'SNAPSHOT';
  const tagged = EVENT_TAGS[tok];
  if (tagged) {
    event = tagged;
    tok = tokens[++i] ?? '';
  } else if (tok.startsWith('[')) {
    return { error: `unknown event tag ${JSON.stringify(tok)}` };
  }
  let family: 'ipv4' | 'ipv6' | undefined;
  if (tok === 'ipv4' || tok === 'ipv6') {
    family = tok;
    i += 2; // family name and number
    tok = tokens[i] ?? '';
  }
  const proto = tok;
  if (!/^[a-z][a-z0-9-]*$/.test(proto)) return { error: `expected a protocol name, found ${JSON.stringify(proto)}` };
  const protoNum = toInt(tokens[++i]);
  if (protoNum === undefined || protoNum > 255) return { error: `bad protocol number after ${proto}` };
  i++;
  let timeout: number | undefined;
  const maybeTimeout = toInt(tokens[i]);
  if (maybeTimeout !== undefined) {
    timeout = maybeTimeout;
    i++;
  }
  let state: string | undefined;
  const maybeState = tokens[i];
  if (maybeState !== undefined && /^[A-Z][A-Z0-9_]*$/.test(maybeState)) {
    state = maybeState;
    i++;
  }
  const first = tokens[i];
  if (first !== undefined && !first.includes('=') && !first.startsWith('[')) {
    return { error: `unexpected ${JSON.stringify(first)} before the tuples` };
  }

  const orig: Partial<CtTuple> = {};
  const reply: Partial<CtTuple> = {};
  let tuple = orig;
  let inReply = false;
  let unreplied = false;
  let assured = false;
  let mark: number | undefined;
  let zone: number | undefined;
  let id: number | undefined;
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.charCodeAt(0) === 91 /* [ */) {
      if (t === '[UNREPLIED]') unreplied = true;
      else if (t === '[ASSURED]') assured = true;
      continue; // [OFFLOAD], [HW_OFFLOAD], [USERSPACE], [start=…] carry nothing we need
    }
    const eq = t.indexOf('=');
    if (eq <= 0) continue;
    const key = t.slice(0, eq);
    const value = t.slice(eq + 1);
    switch (key) {
      case 'src':
        if (tuple.src !== undefined) {
          if (inReply) return { error: 'more than two src= tuples' };
          tuple = reply;
          inReply = true;
        }
        tuple.src = value;
        break;
      case 'dst':
        tuple.dst = value;
        break;
      case 'sport':
        tuple.sport = toInt(value);
        break;
      case 'dport':
        tuple.dport = toInt(value);
        break;
      case 'type':
        tuple.icmpType = toInt(value);
        break;
      case 'code':
        tuple.icmpCode = toInt(value);
        break;
      case 'id':
        // ICMP tuples carry their own id=; the conntrack id comes after the tuples.
        if (tuple.icmpCode !== undefined && tuple.icmpId === undefined) tuple.icmpId = toInt(value);
        else id = toInt(value);
        break;
      case 'mark':
        mark = toInt(value);
        break;
      case 'zone':
        zone = toInt(value);
        break;
    }
  }
  if (orig.src === undefined || orig.dst === undefined) return { error: 'no original tuple (src=/dst=)' };
  if (reply.src === undefined || reply.dst === undefined) return { error: 'no reply tuple (second src=/dst=)' };
  const entry: CtEntry = {
    event,
    family: family ?? (orig.src.includes(':') ? 'ipv6' : 'ipv4'),
    proto,
    protoNum,
    orig: orig as CtTuple,
    reply: reply as CtTuple,
    unreplied,
    assured,
  };
  if (timeout !== undefined) entry.timeout = timeout;
  if (state !== undefined) entry.state = state;
  if (mark !== undefined) entry.mark = mark;
  if (zone !== undefined) entry.zone = zone;
  if (id !== undefined) entry.id = id;
  if (timestamp !== undefined) entry.timestamp = timestamp;
  return { entry };
}
