// Pure parser for `nft -a monitor trace` output: the lines of each traced
// packet (the packet's fields when it enters a base chain, every rule that
// matched with its handle and verdict, chain policies), grouped into packets.
// A packet starts at its "packet:" line in the first traced table (the one
// that sets nftrace); trace ids are reused by the kernel, so an id alone
// does not separate packets.

export interface TraceHop {
  /** "inet fw4", "ip nat" */
  table: string;
  chain: string;
  kind: 'rule' | 'policy' | 'verdict';
  /** Rule handle; present with `nft -a`, or from "unknown rule handle N". */
  handle?: number;
  /** The rule as nft printed it, counters removed; '' for an unknown rule (changed since the monitor started). */
  text: string;
  /** accept, drop, continue, return, jump X, goto X … */
  verdict: string;
}

/** What a trace's packet line says of the packet. */
export interface PacketFields {
  proto?: string;
  saddr?: string;
  daddr?: string;
  sport?: number;
  dport?: number;
  iif?: string;
  oif?: string;
  /** TCP flags as nft printed them: "0x12", "ack", "rst", "fin | ack" … */
  tcpFlags?: string;
}

export interface TracePacket extends Omit<PacketFields, 'oif'> {
  id: string;
  /** Where the packet entered tracing ("inet replyguard_trace pre"). */
  start: string;
  /** synack | ack | syn | rst | fin | other | udp */
  kind: string;
  hops: TraceHop[];
  /** Base chains the packet entered, in order, with the destination at that point (DNAT/REDIRECT show). */
  entries: Array<{ table: string; chain: string; daddr?: string; dport?: number; oif?: string }>;
}

export interface TraceLine {
  id: string;
  table: string;
  chain: string;
  what: 'packet' | 'rule' | 'policy' | 'verdict' | 'unknown';
  rest: string;
}

const LINE = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (.*)$/;

export function parseTraceLine(line: string): TraceLine | null {
  const m = LINE.exec(line.trim());
  if (!m) return null;
  const [, id, family, table, chain, rest] = m as unknown as [string, string, string, string, string, string];
  const t = `${family} ${table}`;
  if (rest.startsWith('packet:')) return { id, table: t, chain, what: 'packet', rest: rest.slice(7).trim() };
  if (rest.startsWith('rule ')) return { id, table: t, chain, what: 'rule', rest: rest.slice(5) };
  if (rest.startsWith('unknown rule')) return { id, table: t, chain, what: 'rule', rest };
  if (rest.startsWith('policy ')) return { id, table: t, chain, what: 'policy', rest: rest.slice(7).trim() };
  if (rest.startsWith('verdict ')) return { id, table: t, chain, what: 'verdict', rest: rest.slice(8).trim() };
  return { id, table: t, chain, what: 'unknown', rest };
}

/** "counter packets 3 bytes 156" → "counter" (the evaluator's texts carry no numbers). */
export function stripCounters(text: string): string {
  return text
    .replace(/counter packets \d+ bytes \d+/g, 'counter')
    .replace(/\s+/g, ' ')
    .trim();
}

function ruleHop(l: TraceLine): TraceHop {
  // "<text> # handle N (verdict V)" or "unknown rule handle N (verdict V)"
  const verdictM = /\(verdict ([^)]*)\)\s*$/.exec(l.rest);
  const verdict = verdictM ? verdictM[1]!.trim() : '';
  let body = verdictM ? l.rest.slice(0, verdictM.index).trim() : l.rest.trim();
  let handle: number | undefined;
  const unknown = /^unknown rule handle (\d+)$/.exec(body);
  if (unknown) {
    handle = Number(unknown[1]);
    body = '';
  } else {
    const h = / # handle (\d+)$/.exec(body);
    if (h) {
      handle = Number(h[1]);
      body = body.slice(0, h.index);
    }
  }
  const hop: TraceHop = { table: l.table, chain: l.chain, kind: 'rule', text: stripCounters(body), verdict };
  if (handle !== undefined) hop.handle = handle;
  return hop;
}

export function parsePacketFields(rest: string): PacketFields {
  const f: PacketFields = {};
  const get = (re: RegExp) => re.exec(rest)?.[1];
  const iif = get(/\biif "([^"]+)"/);
  if (iif) f.iif = iif;
  const oif = get(/\boif "([^"]+)"/);
  if (oif) f.oif = oif;
  const saddr = get(/\bip6? saddr (\S+)/);
  if (saddr) f.saddr = saddr;
  const daddr = get(/\bip6? daddr (\S+)/);
  if (daddr) f.daddr = daddr;
  const l4 = get(/\b(tcp|udp) sport/);
  if (l4) f.proto = l4;
  const sport = get(/\b(?:tcp|udp) sport (\d+)/);
  if (sport) f.sport = Number(sport);
  const dport = get(/\b(?:tcp|udp) dport (\d+)/);
  if (dport) f.dport = Number(dport);
  const flags = get(/\btcp flags == (.+?) tcp window/) ?? get(/\btcp flags == (\S+)/);
  if (flags) f.tcpFlags = flags.trim();
  return f;
}

/** synack | ack | syn | rst | fin | other; udp for UDP. */
export function packetKind(proto: string | undefined, flags: string | undefined): string {
  if (proto === 'udp') return 'udp';
  if (!flags) return 'other';
  let bits = 0;
  if (/^0x[0-9a-f]+$/i.test(flags)) bits = Number.parseInt(flags, 16);
  else {
    const names: Record<string, number> = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ecn: 64, cwr: 128 };
    for (const n of flags.split(/[\s|]+/)) bits |= names[n] ?? 0;
  }
  if (bits & 4) return 'rst';
  if ((bits & 0x12) === 0x12) return 'synack';
  if (bits & 2) return 'syn';
  if (bits & 1) return 'fin';
  if (bits & 16) return 'ack';
  return 'other';
}

/** Groups the lines into packets; `startTable` is the table whose chain starts each packet's trace. */
export function parseTrace(text: string, startTable = 'inet replyguard_trace'): TracePacket[] {
  const packets: TracePacket[] = [];
  const open = new Map<string, TracePacket>();
  for (const raw of text.split('\n')) {
    const l = parseTraceLine(raw);
    if (!l) continue;
    if (l.what === 'packet') {
      const fields = parsePacketFields(l.rest);
      let p = open.get(l.id);
      if (!p || l.table === startTable) {
        const { oif: _, ...entered } = fields;
        p = {
          id: l.id,
          start: `${l.table} ${l.chain}`,
          ...entered,
          kind: packetKind(fields.proto, fields.tcpFlags),
          hops: [],
          entries: [],
        };
        packets.push(p);
        open.set(l.id, p);
      }
      const entry: TracePacket['entries'][number] = { table: l.table, chain: l.chain };
      if (fields.daddr) entry.daddr = fields.daddr;
      if (fields.dport !== undefined) entry.dport = fields.dport;
      if (fields.oif) entry.oif = fields.oif;
      p.entries.push(entry);
      continue;
    }
    const p = open.get(l.id);
    if (!p) continue; // its packet line came before the capture started
    if (l.what === 'rule') p.hops.push(ruleHop(l));
    else if (l.what === 'policy')
      p.hops.push({ table: l.table, chain: l.chain, kind: 'policy', text: '', verdict: l.rest });
    else if (l.what === 'verdict')
      p.hops.push({ table: l.table, chain: l.chain, kind: 'verdict', text: '', verdict: l.rest });
  }
  return packets;
}

/** A traced packet's fate as the trace shows it. */
export interface TraceFate {
  /** redirect/tproxy/dnat/masquerade/mark rule that took it, if any. */
  diverted?: TraceHop;
  /** A rule that set a mark (TUN and TPROXY modes route by it; the routing itself is not traced). */
  marked?: TraceHop;
  /** A drop verdict or drop policy. */
  dropped?: TraceHop;
  /** The last base chain it was seen in (nat INPUT after a redirect = delivered to the router). */
  lastEntry?: string;
  /** The packet mark nft printed last ("… policy accept meta mark 0x00000162"): what policy routing sees. */
  finalMark?: number;
}

/** `meta mark set …` or `mark set …`, not `ct mark set …` (that one marks the connection). */
const SETS_PACKET_MARK = /(?<!ct )(?<!ct meta )\bmark set\b/;
const DIVERT = /\b(redirect to|tproxy|dnat to|masquerade|snat to)\b/;

export function traceFate(p: TracePacket, ownTable = 'inet replyguard_trace'): TraceFate {
  const f: TraceFate = {};
  for (const h of p.hops) {
    if (h.table === ownTable) continue;
    if (h.kind === 'rule' && DIVERT.test(h.text) && !f.diverted) f.diverted = h;
    // The last marking rule: earlier ones (e.g. `meta mark set ct mark`) are overwritten by it.
    if (h.kind === 'rule' && SETS_PACKET_MARK.test(h.text)) f.marked = h;
    if ((h.verdict === 'drop' || /^drop/.test(h.verdict)) && !f.dropped) f.dropped = h;
    const mark = /\bmeta mark (0x[0-9a-f]+)/.exec(h.verdict);
    if (mark) f.finalMark = Number.parseInt(mark[1]!.slice(2), 16);
  }
  const last = p.entries[p.entries.length - 1];
  if (last) f.lastEntry = `${last.table} ${last.chain}`;
  return f;
}

/** The hops outside replyguard's own table, for display. */
export function foreignHops(p: TracePacket, ownTable = 'inet replyguard_trace'): TraceHop[] {
  return p.hops.filter((h) => h.table !== ownTable);
}

/** What `explain` says about one packet, reduced to what a trace can confirm. */
export interface ExplainedFate {
  verdict: string;
  how: { kind: string; port?: number; device?: string; mark?: number } | null;
  responsible: { backend: string; table: string; chain: string; handle: number | null; effect: string } | null;
}

export interface TraceComparison {
  agree: boolean;
  /** What the trace showed, in words. */
  traced: string;
  /** What explain said, in words. */
  explained: string;
  /** Why they disagree (empty when they agree). */
  why: string[];
}

function hopWhere(h: { table: string; chain: string; handle?: number | null }): string {
  return `${h.table} ${h.chain}${h.handle !== undefined && h.handle !== null ? ` handle ${h.handle}` : ''}`;
}

/** Does the static explain agree with what the kernel did to this packet? */
export function compareTrace(p: TracePacket, e: ExplainedFate, ownTable = 'inet replyguard_trace'): TraceComparison {
  const fate = traceFate(p, ownTable);
  const why: string[] = [];
  const masq = e.verdict === 'forwarded' && e.responsible?.effect.startsWith('masquerade') === true;
  const explainTakes = e.verdict === 'proxied' || e.verdict === 'dropped' || masq;
  const tun = e.how?.kind === 'tun';
  // A tproxy statement that finds no listening socket ends its rule without a traced verdict, but the
  // mark set before it stays and policy routing delivers the packet to this router all the same.
  const markedForTproxy =
    e.how?.kind === 'tproxy' && e.how.mark !== undefined && !fate.diverted && fate.finalMark === e.how.mark;
  const tracedHop = fate.dropped ?? fate.diverted ?? (tun ? fate.marked : undefined);
  const mark = `0x${(fate.finalMark ?? 0).toString(16)}`;
  const traced = tracedHop
    ? `${fate.dropped ? 'dropped' : 'taken'} by ${hopWhere(tracedHop)}: ${tracedHop.text || '(rule changed since)'} (verdict ${tracedHop.verdict})`
    : markedForTproxy
      ? `left the chains with mark ${mark}${fate.marked ? ` (set by ${hopWhere(fate.marked)})` : ''}, which policy routing delivers to this router; ` +
        'the tproxy rule itself shows no verdict (no proxy socket was listening on its port)'
      : 'no rule took it (passed on)';
  const explained =
    e.verdict === 'proxied'
      ? `proxied via ${e.how?.kind ?? '?'}${e.how?.port !== undefined ? ` to :${e.how.port}` : ''}${e.how?.device ? ` into ${e.how.device}` : ''}` +
        (e.responsible ? ` by ${hopWhere(e.responsible)}` : '')
      : masq
        ? `masqueraded by ${hopWhere(e.responsible!)}`
        : e.verdict;
  if (e.verdict === 'undetermined') {
    why.push('explain could not decide (undetermined)');
    return { agree: false, traced, explained, why };
  }
  if (explainTakes !== (Boolean(tracedHop) || markedForTproxy)) {
    why.push(
      explainTakes
        ? `explain says the packet is ${explained}, but the trace shows ${traced}`
        : `explain says the packet is ${e.verdict}, but the trace shows it ${traced}`,
    );
  } else if (tracedHop && e.responsible && e.responsible.backend !== 'route') {
    const r = e.responsible;
    if (r.table !== tracedHop.table || r.chain !== tracedHop.chain)
      why.push(`explain names ${hopWhere(r)}, the trace ${hopWhere(tracedHop)}`);
    else if (r.handle !== null && tracedHop.handle !== undefined && r.handle !== tracedHop.handle)
      why.push(`explain names rule handle ${r.handle}, the trace handle ${tracedHop.handle}`);
  }
  return { agree: why.length === 0, traced, explained, why };
}
