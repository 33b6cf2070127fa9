// What changed between two rulesets, per table, chain and set, in words
// ("inet fw4 chain openclash: +2 rules, -1 rule"), and a fingerprint of what
// matters to a packet's fate: rule texts, set elements, policy routing, the
// tcp_loose sysctl — not counters, not handles, not replyguard's own tables
// or the elements of dynamic sets (both change with traffic). Pure.

import { createHash } from 'node:crypto';
import type { Chain, NamedSet, Ruleset, Table, Value } from './model';

/** replyguard's own tables, chains and sets (the probe's counters, the trace table). */
export function isOwnName(name: string): boolean {
  return /^replyguard/.test(name);
}

function valueText(v: Value): string {
  switch (v.kind) {
    case 'num':
      return String(v.n);
    case 'str':
      return v.s;
    case 'prefix':
      return `${v.addr}/${v.bits}`;
    case 'range':
      return `${valueText(v.lo)}-${valueText(v.hi)}`;
    case 'concat':
      return v.parts.map(valueText).join(' . ');
    case 'set':
      return `{${v.elements.map(valueText).join(',')}}`;
    case 'setref':
      return `@${v.name}`;
  }
}

function isDynamic(s: NamedSet): boolean {
  return s.flags.includes('dynamic') || s.flags.includes('timeout');
}

/** The rules of a chain as they matter (text only; handles and counters left out). */
function ruleTexts(c: Chain): string[] {
  return c.rules.filter((r) => !/replyguard/.test(r.text)).map((r) => r.text);
}

function setElements(s: NamedSet): string[] {
  if (isDynamic(s)) return [];
  return s.elements.map(valueText);
}

function tableKey(t: Table): string {
  return `${t.backend === 'nft' ? 'nft' : t.backend} ${t.family} ${t.name}`;
}

function ownTables(rs: Ruleset): Table[] {
  return rs.tables.filter((t) => !isOwnName(t.name));
}

/** Fingerprint of everything that decides a packet's fate (hex, 16 chars). */
export function rulesetFingerprint(rs: Ruleset): string {
  const h = createHash('sha256');
  const tables = ownTables(rs)
    .map((t) => ({ t, k: tableKey(t) }))
    .sort((a, b) => a.k.localeCompare(b.k));
  for (const { t, k } of tables) {
    h.update(`T ${k}\n`);
    for (const c of t.chains) {
      if (isOwnName(c.name)) continue;
      h.update(`C ${c.name} ${c.hook ?? ''} ${c.type ?? ''} ${c.priority ?? ''} ${c.policy ?? ''}\n`);
      for (const r of ruleTexts(c)) h.update(`R ${r}\n`);
    }
    for (const s of t.sets) {
      if (isOwnName(s.name)) continue;
      h.update(`S ${s.name} ${s.keyType.join('.')} ${s.flags.join(',')}\n`);
      for (const e of setElements(s)) h.update(`E ${e}\n`);
    }
  }
  for (const s of rs.ipsets) {
    if (isOwnName(s.name)) continue;
    h.update(`I ${s.name} ${s.ipsetType ?? ''}\n`);
    for (const e of setElements(s)) h.update(`E ${e}\n`);
  }
  for (const r of rs.routing.rules) h.update(`P ${JSON.stringify(r)}\n`);
  for (const r of rs.routing.routes) h.update(`Q ${JSON.stringify(r)}\n`);
  h.update(`L ${rs.tcpLoose ?? ''}\n`);
  return h.digest('hex').slice(0, 16);
}

export interface ChainChange {
  /** "inet fw4" (nft) or "ip nat" (iptables) */
  table: string;
  backend: string;
  chain: string;
  kind: 'added' | 'removed' | 'changed';
  added: number;
  removed: number;
}

export interface SetChange {
  table: string;
  set: string;
  kind: 'added' | 'removed' | 'changed';
  added: number;
  removed: number;
}

export interface RulesetDiff {
  /** "inet fw4" / "ip nat (iptables)", with its size ("3 chains, 12 rules"). */
  tablesAdded: Array<{ table: string; size: string }>;
  tablesRemoved: Array<{ table: string; size: string }>;
  chains: ChainChange[];
  sets: SetChange[];
  /** Policy routing and sysctl changes, in words. */
  other: string[];
  /** Nothing that matters changed. */
  empty: boolean;
}

/** Multiset difference: how many of `a` are not in `b`. */
function missing(a: string[], b: string[]): number {
  const count = new Map<string, number>();
  for (const x of b) count.set(x, (count.get(x) ?? 0) + 1);
  let n = 0;
  for (const x of a) {
    const c = count.get(x) ?? 0;
    if (c > 0) count.set(x, c - 1);
    else n++;
  }
  return n;
}

function displayTable(t: Table): string {
  return `${t.family} ${t.name}`;
}

export function diffRulesets(before: Ruleset, after: Ruleset): RulesetDiff {
  const out: RulesetDiff = { tablesAdded: [], tablesRemoved: [], chains: [], sets: [], other: [], empty: true };
  const beforeTables = new Map(ownTables(before).map((t) => [tableKey(t), t]));
  const afterTables = new Map(ownTables(after).map((t) => [tableKey(t), t]));
  const keys = [...new Set([...beforeTables.keys(), ...afterTables.keys()])].sort();
  for (const k of keys) {
    const a = beforeTables.get(k);
    const b = afterTables.get(k);
    const t = (b ?? a)!;
    const name = displayTable(t);
    const backend = t.backend;
    if (!a || !b) {
      // A whole table coming or going is said once, with its size, not per chain.
      const chains = t.chains.filter((c) => !isOwnName(c.name));
      const rules = chains.reduce((n, c) => n + ruleTexts(c).length, 0);
      const label = `${name}${backend === 'nft' ? '' : ` (${backend})`}`;
      const size = `${plural(chains.length, 'chain')}, ${plural(rules, 'rule')}`;
      (a ? out.tablesRemoved : out.tablesAdded).push({ table: label, size });
      continue;
    }
    const ca = new Map((a?.chains ?? []).filter((c) => !isOwnName(c.name)).map((c) => [c.name, c]));
    const cb = new Map((b?.chains ?? []).filter((c) => !isOwnName(c.name)).map((c) => [c.name, c]));
    for (const chain of new Set([...ca.keys(), ...cb.keys()])) {
      const ra = ca.has(chain) ? ruleTexts(ca.get(chain)!) : [];
      const rb = cb.has(chain) ? ruleTexts(cb.get(chain)!) : [];
      const kind = !ca.has(chain) ? 'added' : !cb.has(chain) ? 'removed' : 'changed';
      const added = missing(rb, ra);
      const removed = missing(ra, rb);
      const reordered = kind === 'changed' && added === 0 && removed === 0 && ra.join('\n') !== rb.join('\n');
      const headerChanged =
        kind === 'changed' &&
        JSON.stringify([ca.get(chain)!.hook, ca.get(chain)!.priority, ca.get(chain)!.policy]) !==
          JSON.stringify([cb.get(chain)!.hook, cb.get(chain)!.priority, cb.get(chain)!.policy]);
      if (kind === 'changed' && added === 0 && removed === 0 && !reordered && !headerChanged) continue;
      out.chains.push({ table: name, backend, chain, kind, added, removed });
    }
    const sa = new Map((a?.sets ?? []).filter((s) => !isOwnName(s.name)).map((s) => [s.name, s]));
    const sb = new Map((b?.sets ?? []).filter((s) => !isOwnName(s.name)).map((s) => [s.name, s]));
    for (const set of new Set([...sa.keys(), ...sb.keys()])) {
      const ea = sa.has(set) ? setElements(sa.get(set)!) : [];
      const eb = sb.has(set) ? setElements(sb.get(set)!) : [];
      const kind = !sa.has(set) ? 'added' : !sb.has(set) ? 'removed' : 'changed';
      const added = missing(eb, ea);
      const removed = missing(ea, eb);
      if (kind === 'changed' && added === 0 && removed === 0) continue;
      out.sets.push({ table: name, set, kind, added, removed });
    }
  }
  const ipa = new Map(before.ipsets.filter((s) => !isOwnName(s.name)).map((s) => [s.name, s]));
  const ipb = new Map(after.ipsets.filter((s) => !isOwnName(s.name)).map((s) => [s.name, s]));
  for (const set of new Set([...ipa.keys(), ...ipb.keys()])) {
    const ea = ipa.has(set) ? setElements(ipa.get(set)!) : [];
    const eb = ipb.has(set) ? setElements(ipb.get(set)!) : [];
    const kind = !ipa.has(set) ? 'added' : !ipb.has(set) ? 'removed' : 'changed';
    const added = missing(eb, ea);
    const removed = missing(ea, eb);
    if (kind === 'changed' && added === 0 && removed === 0) continue;
    out.sets.push({ table: 'ipset', set, kind, added, removed });
  }
  const rulesA = before.routing.rules.map((r) => JSON.stringify(r));
  const rulesB = after.routing.rules.map((r) => JSON.stringify(r));
  const ruleAdded = missing(rulesB, rulesA);
  const ruleRemoved = missing(rulesA, rulesB);
  if (ruleAdded + ruleRemoved > 0) out.other.push(`ip rule: ${plusMinus(ruleAdded, ruleRemoved, 'rule')}`);
  const routesA = before.routing.routes.map((r) => JSON.stringify(r));
  const routesB = after.routing.routes.map((r) => JSON.stringify(r));
  const routeAdded = missing(routesB, routesA);
  const routeRemoved = missing(routesA, routesB);
  if (routeAdded + routeRemoved > 0) out.other.push(`routes: ${plusMinus(routeAdded, routeRemoved, 'route')}`);
  if (before.tcpLoose !== after.tcpLoose)
    out.other.push(`nf_conntrack_tcp_loose: ${before.tcpLoose ?? 'unknown'} → ${after.tcpLoose ?? 'unknown'}`);
  out.empty =
    out.tablesAdded.length + out.tablesRemoved.length + out.chains.length + out.sets.length + out.other.length === 0;
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function plusMinus(added: number, removed: number, word: string): string {
  const parts: string[] = [];
  if (added > 0) parts.push(`+${plural(added, word)}`);
  if (removed > 0) parts.push(`-${plural(removed, word)}`);
  return parts.length > 0 ? parts.join(', ') : 'reordered';
}

/** One line per change: "chain openclash (inet fw4): +2 rules, -1 rule". */
export function diffLines(d: RulesetDiff): string[] {
  const lines: string[] = [];
  for (const t of d.tablesAdded) lines.push(`table ${t.table} added (${t.size})`);
  for (const t of d.tablesRemoved) lines.push(`table ${t.table} removed (had ${t.size})`);
  for (const c of d.chains) {
    const where = `chain ${c.chain} (${c.table}${c.backend === 'nft' ? '' : `, ${c.backend}`})`;
    if (c.kind === 'added') lines.push(`${where} added with ${plural(c.added, 'rule')}`);
    else if (c.kind === 'removed') lines.push(`${where} removed (had ${plural(c.removed, 'rule')})`);
    else lines.push(`${where}: ${plusMinus(c.added, c.removed, 'rule')}`);
  }
  for (const s of d.sets) {
    const where = `set ${s.set} (${s.table})`;
    if (s.kind === 'added') lines.push(`${where} added with ${plural(s.added, 'element')}`);
    else if (s.kind === 'removed') lines.push(`${where} removed`);
    else lines.push(`${where}: ${plusMinus(s.added, s.removed, 'element')}`);
  }
  lines.push(...d.other);
  return lines;
}

/** The whole diff in one line, shortened after `max` parts. */
export function diffSummary(d: RulesetDiff, max = 4): string {
  const lines = diffLines(d);
  if (lines.length === 0) return 'no change that matters to packets';
  const shown = lines.slice(0, max).join('; ');
  return lines.length > max ? `${shown}; … ${lines.length - max} more` : shown;
}
