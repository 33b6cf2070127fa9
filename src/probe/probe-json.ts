// Reads `nft -j list table inet replyguard`: the probe's counting sets with
// their per-element counters, and enough of the chains to tell that the table
// is still the one replyguard installed. Pure, and never throws: whatever the
// text, a dump or an error comes back.

import { canonicalAddress } from '../net/ip-address';

export interface ProbeElement {
  proto: 'tcp' | 'udp';
  server: string;
  serverPort: number;
  peer: string;
  peerPort: number;
  packets: number;
}

export interface ProbeSetDump {
  /** The set's size cap, when it has one. */
  size?: number;
  elements: ProbeElement[];
  /** Elements whose shape was not ours (skipped). */
  skipped: number;
}

export interface ProbeDump {
  tableHandle: number;
  /** Per chain: how many rules, and the distinct comments they carry. */
  chains: Record<string, { rules: number; comments: string[] }>;
  sets: Record<string, ProbeSetDump>;
}

const PROTOS: Record<string, 'tcp' | 'udp'> = { tcp: 'tcp', udp: 'udp', '6': 'tcp', '17': 'udp' };

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function port(v: Json): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535 ? v : undefined;
}

function address(v: Json): string | undefined {
  return typeof v === 'string' ? (canonicalAddress(v) ?? undefined) : undefined;
}

/** One `{"elem": {"val": {"concat": [...]}, "counter": {...}}}` (or a bare value), or undefined. */
function parseElement(raw: Json): ProbeElement | undefined {
  const wrapper = isObject(raw) && isObject(raw.elem) ? raw.elem : undefined;
  if (!wrapper) return undefined;
  const val = isObject(wrapper.val) ? wrapper.val.concat : undefined;
  if (!Array.isArray(val) || val.length !== 5) return undefined;
  const server = address(val[0]);
  // Own keys of primitives only: String() throws on {"toString": 1}, and "constructor" would find Object.
  const protoKey = typeof val[1] === 'string' || typeof val[1] === 'number' ? String(val[1]) : '';
  const proto = Object.hasOwn(PROTOS, protoKey) ? PROTOS[protoKey] : undefined;
  const serverPort = port(val[2]);
  const peer = address(val[3]);
  const peerPort = port(val[4]);
  const counter = isObject(wrapper.counter) ? wrapper.counter : undefined;
  const packets = counter?.packets;
  if (server === undefined || proto === undefined || serverPort === undefined) return undefined;
  if (peer === undefined || peerPort === undefined) return undefined;
  if (typeof packets !== 'number' || !Number.isSafeInteger(packets) || packets < 0) return undefined;
  return { proto, server, serverPort, peer, peerPort, packets };
}

export function parseProbeDump(text: string, table = 'replyguard'): ProbeDump | { error: string } {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message.slice(0, 200)}` };
  }
  const items = isObject(doc) ? doc.nftables : undefined;
  if (!Array.isArray(items)) return { error: 'no "nftables" array' };
  let tableHandle: number | undefined;
  // No prototype: a chain or set named "__proto__" or "constructor" would otherwise find (and then
  // write into) Object.prototype's members, which threw a TypeError and polluted every object.
  const chains: ProbeDump['chains'] = Object.create(null);
  const sets: ProbeDump['sets'] = Object.create(null);
  for (const item of items) {
    if (!isObject(item)) continue;
    const [kind] = Object.keys(item);
    const body = kind !== undefined ? item[kind] : undefined;
    if (!isObject(body)) continue;
    const ours = body.table === table || (kind === 'table' && body.name === table);
    if (!ours || body.family !== 'inet') continue;
    if (kind === 'table' && typeof body.handle === 'number') {
      tableHandle = body.handle;
    } else if (kind === 'chain' && typeof body.name === 'string') {
      chains[body.name] ??= { rules: 0, comments: [] };
    } else if (kind === 'rule' && typeof body.chain === 'string') {
      const chain = chains[body.chain] ?? { rules: 0, comments: [] };
      chains[body.chain] = chain;
      chain.rules++;
      const comment = typeof body.comment === 'string' ? body.comment : '';
      if (!chain.comments.includes(comment)) chain.comments.push(comment);
    } else if (kind === 'set' && typeof body.name === 'string') {
      const set: ProbeSetDump = { elements: [], skipped: 0 };
      if (typeof body.size === 'number') set.size = body.size;
      for (const raw of Array.isArray(body.elem) ? body.elem : []) {
        const e = parseElement(raw);
        if (e) set.elements.push(e);
        else set.skipped++;
      }
      sets[body.name] = set;
    }
  }
  if (tableHandle === undefined) return { error: `no table inet ${table} in the output` };
  return { tableHandle, chains, sets };
}
