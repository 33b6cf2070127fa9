// One `<flow>` element of `conntrack -o xml`, which prints one flow per line.

import { toInt } from '../util/to-int';
import type { CtEntry, CtEventType, CtParseResult, CtTuple } from './conntrack-entry';

const XML_EVENTS: Record<string, CtEventType> = { new: 'NEW', update: 'UPDATE', destroy: 'DESTROY' };

export function parseXmlLine(line: string): CtParseResult {
  if (!line.startsWith('<flow')) return { skip: true }; // <?xml …?>, <conntrack>, </conntrack>
  const typeMatch = /^<flow(?:\s+type="([a-z]+)")?\s*>/.exec(line);
  if (!typeMatch) return { error: 'malformed <flow> element' };
  let event: CtEventType = 'SNAPSHOT';
  if (typeMatch[1] !== undefined) {
    // hasOwn: type="constructor" found Object's constructor (an event that is a function).
    const ev = Object.hasOwn(XML_EVENTS, typeMatch[1]) ? XML_EVENTS[typeMatch[1]] : undefined;
    if (!ev) return { error: `unknown flow type "${typeMatch[1]}"` };
    event = ev;
  }
  if (!line.endsWith('</flow>')) return { error: 'truncated <flow> element' };
  const orig = metaBlock(line, 'original');
  const reply = metaBlock(line, 'reply');
  const indep = metaBlock(line, 'independent') ?? '';
  if (orig === undefined || reply === undefined) return { error: '<flow> without original and reply tuples' };
  const l4 = /<layer4 protonum="(\d+)" protoname="([a-z0-9-]+)">/.exec(orig);
  const l3 = /<layer3 protonum="\d+" protoname="(ipv4|ipv6)">/.exec(orig);
  const origTuple = tuple(orig);
  const replyTuple = tuple(reply);
  if (!l4 || !l3 || !origTuple || !replyTuple) return { error: '<flow> tuple without layer3/layer4 data' };
  const entry: CtEntry = {
    event,
    family: l3[1] as 'ipv4' | 'ipv6',
    proto: l4[2]!,
    protoNum: Number(l4[1]),
    orig: origTuple,
    reply: replyTuple,
    unreplied: indep.includes('<unreplied/>'),
    assured: indep.includes('<assured/>'),
  };
  const state = element(indep, 'state');
  if (state !== undefined) entry.state = state;
  const timeout = toInt(element(indep, 'timeout'));
  if (timeout !== undefined) entry.timeout = timeout;
  const mark = toInt(element(indep, 'mark'));
  if (mark !== undefined) entry.mark = mark;
  const zone = toInt(element(indep, 'zone'));
  if (zone !== undefined) entry.zone = zone;
  const id = toInt(element(indep, 'id'));
  if (id !== undefined) entry.id = id;
  return { entry };
}

function metaBlock(line: string, direction: string): string | undefined {
  const open = `<meta direction="${direction}">`;
  const start = line.indexOf(open);
  if (start < 0) return undefined;
  const end = line.indexOf('</meta>', start);
  return end < 0 ? undefined : line.slice(start + open.length, end);
}

function element(block: string, name: string): string | undefined {
  const start = block.indexOf(`<${name}>`);
  if (start < 0) return undefined;
  const end = block.indexOf(`</${name}>`, start);
  return end < 0 ? undefined : block.slice(start + name.length + 2, end);
}

function tuple(block: string): CtTuple | undefined {
  const src = element(block, 'src');
  const dst = element(block, 'dst');
  if (src === undefined || dst === undefined) return undefined;
  const t: CtTuple = { src, dst };
  const sport = toInt(element(block, 'sport'));
  if (sport !== undefined) t.sport = sport;
  const dport = toInt(element(block, 'dport'));
  if (dport !== undefined) t.dport = dport;
  const type = toInt(element(block, 'type'));
  if (type !== undefined) t.icmpType = type;
  const code = toInt(element(block, 'code'));
  if (code !== undefined) t.icmpCode = code;
  const icmpId = toInt(element(block, 'id'));
  if (icmpId !== undefined) t.icmpId = icmpId;
  return t;
}
