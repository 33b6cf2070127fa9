// The one evaluator: walks a hypothetical packet through every table's base
// chains at prerouting in kernel order (priority; nat only for a new
// conntrack entry, and no further nat chain once one has bound), then the
// policy routing decision by fwmark, then forward/postrouting when it is
// forwarded. Three-valued: a rule that may or may not match forks the walk;
// when the branches disagree, the result is not certain and says why.

import { TUN_DEVICE_NAME } from '../proxies/registry';
import type {
  Chain,
  Expr,
  Hook,
  IpRule,
  Key,
  Match,
  NamedSet,
  Route,
  Rule,
  Ruleset,
  Table,
  Value,
  Verdict,
} from './model';
import type { ModelledPacket } from './packet';
import { CT_STATE_BITS, FIB_TYPE } from './packet';
import { type IpValue, ipValue, PrefixIndex, prefixBounds } from './prefix-set';
import { contains, F, inElements, M, not, type Rt, T, type Tri } from './set-index';

export type FinalVerdict = 'proxied' | 'forwarded' | 'local' | 'dropped' | 'undetermined';

export interface ProxyHow {
  kind: 'redirect' | 'tproxy' | 'tun';
  port?: number;
  addr?: string;
  device?: string;
  /** Routing table and mark that took the packet there (tproxy/tun). */
  table?: string;
  mark?: number;
}

export interface Hop {
  backend: string;
  table: string;
  chain: string;
  position?: number;
  handle?: number;
  text: string;
  effect: string;
  /** false when the rule only possibly matched (this branch assumed it did). */
  certain: boolean;
}

export interface Outcome {
  verdict: FinalVerdict;
  how?: ProxyHow;
  path: Hop[];
  /** The hop that decided the verdict (the redirect, the tproxy, the mark routed into a tun, the drop, the bypass). */
  responsible?: Hop;
  /** The assumptions this branch made about "maybe" matches. */
  assumptions: string[];
  notes: string[];
  /** Hops met but left out of `path` (it keeps the first MAX_PATH_HOPS). */
  pathCut?: number;
}

export interface Evaluation {
  verdict: FinalVerdict;
  certain: boolean;
  how?: ProxyHow;
  path: Hop[];
  responsible?: Hop;
  /** Why not certain (each maybe that changed the outcome), or why undetermined. */
  reasons: string[];
  /** Every distinct outcome, the reported one first. */
  outcomes: Outcome[];
  ctState: string;
  ctReason: string;
  notes: string[];
  /** Rules looked at, over all branches (at most MAX_RULE_VISITS + 1): the work this answer took. */
  ruleVisits: number;
}

// ---------------------------------------------------------------------------
// Compilation: hook lists sorted by priority, chain and set lookups

interface ChainRef {
  table: Table;
  chain: Chain;
}

export interface CompiledRuleset {
  ruleset: Ruleset;
  hooks: Map<Hook, ChainRef[]>;
  chains: Map<Table, Map<string, Chain>>;
  sets: Map<Table, Map<string, NamedSet>>;
  ipsets: Map<string, NamedSet>;
  local: PrefixIndex;
  hasAddresses: boolean;
  tunDevices: Set<string>;
  /** Routing with prefixes pre-parsed, rules sorted by priority, per family. */
  routing: Record<4 | 6, CompiledRouting>;
  /** Long chains of per-host rules, indexed by the one source address a rule requires. */
  bySource: Map<Chain, SourceIndex>;
}

/**
 * A chain's rules split by source address: `byAddr` holds the positions of rules that match only
 * one source address (`ip saddr 192.168.1.10`, `-s 192.168.1.10/32`), `rest` all others. A packet
 * meets only the rules of its own address and the rest: thousands of per-server guard or bypass
 * rules then cost one lookup, not one match each.
 */
interface SourceIndex {
  byAddr: Map<string, number[]>;
  rest: number[];
}

/** Chains shorter than this are walked rule by rule. */
const SOURCE_INDEX_MIN_RULES = 32;

function sourceKey(a: IpValue): string {
  return `${a.family}/${a.n}`;
}

/** The one source address a rule requires, if it requires one. */
function requiredSource(rule: Rule): string | undefined {
  for (const m of rule.matches) {
    if (m.kind !== 'cmp' || m.op !== '==' || m.key.kind !== 'payload' || m.key.field !== 'saddr') continue;
    if (m.key.proto !== 'ip' && m.key.proto !== 'ip6') continue;
    const v = m.value;
    if (v.kind !== 'prefix' || v.bits !== (v.family === 4 ? 32 : 128)) continue;
    if ((m.key.proto === 'ip') !== (v.family === 4)) continue;
    const a = ipValue(v.addr);
    if (a) return sourceKey(a);
  }
  return undefined;
}

function indexBySource(chain: Chain): SourceIndex | undefined {
  if (chain.rules.length < SOURCE_INDEX_MIN_RULES) return undefined;
  const byAddr = new Map<string, number[]>();
  const rest: number[] = [];
  chain.rules.forEach((r, i) => {
    const k = requiredSource(r);
    if (k === undefined) rest.push(i);
    else {
      const list = byAddr.get(k);
      if (list) list.push(i);
      else byAddr.set(k, [i]);
    }
  });
  return rest.length * 2 <= chain.rules.length ? { byAddr, rest } : undefined;
}

interface Bounds {
  lo: IpValue;
  hi: IpValue;
}

interface CompiledRouting {
  rules: { rule: IpRule; src: Bounds | null; dst: Bounds | null; text: string }[];
  /** Routes per table, longest prefix first. */
  tables: Map<string, { route: Route; bounds: Bounds; bits: number }[]>;
  empty: boolean;
}

function compileRouting(ruleset: Ruleset, fam: 4 | 6): CompiledRouting {
  let rules = ruleset.routing.rules.filter((r) => r.family === fam);
  const routes = ruleset.routing.routes.filter((r) => r.family === fam);
  const empty = rules.length === 0 && routes.length === 0;
  if (rules.length === 0) rules = DEFAULT_RULES.map((r) => ({ ...r, family: fam }));
  const bounds = (t: string | undefined): Bounds | null => (t ? prefixBounds(t) : null);
  const tables = new Map<string, { route: Route; bounds: Bounds; bits: number }[]>();
  for (const rt of routes) {
    const prefix = rt.dst === 'default' ? (fam === 4 ? '0.0.0.0/0' : '::/0') : rt.dst;
    const b = prefixBounds(prefix);
    if (!b) continue;
    const bits = rt.dst === 'default' ? 0 : Number(rt.dst.split('/')[1] ?? (fam === 4 ? 32 : 128));
    const list = tables.get(rt.table) ?? [];
    list.push({ route: rt, bounds: b, bits });
    tables.set(rt.table, list);
  }
  for (const list of tables.values())
    list.sort((a, b) => b.bits - a.bits || (a.route.metric ?? 0) - (b.route.metric ?? 0));
  return {
    rules: rules
      .slice()
      .sort((a, b) => a.priority - b.priority)
      .map((rule) => ({ rule, src: bounds(rule.src), dst: bounds(rule.dst), text: ruleText(rule) })),
    tables,
    empty,
  };
}

function inBounds(b: Bounds, a: IpValue): boolean {
  return b.lo.family === a.family && b.lo.n <= a.n && a.n <= b.hi.n;
}

export function compileRuleset(ruleset: Ruleset): CompiledRuleset {
  const hooks = new Map<Hook, ChainRef[]>();
  const chains = new Map<Table, Map<string, Chain>>();
  const sets = new Map<Table, Map<string, NamedSet>>();
  for (const t of ruleset.tables) {
    chains.set(t, new Map(t.chains.map((c) => [c.name, c])));
    sets.set(t, new Map(t.sets.map((s) => [s.name, s])));
    for (const c of t.chains) {
      if (!c.hook) continue;
      const list = hooks.get(c.hook) ?? [];
      list.push({ table: t, chain: c });
      hooks.set(c.hook, list);
    }
  }
  for (const list of hooks.values()) list.sort((a, b) => (a.chain.priority ?? 0) - (b.chain.priority ?? 0));
  const bySource = new Map<Chain, SourceIndex>();
  for (const t of ruleset.tables)
    for (const c of t.chains) {
      const idx = indexBySource(c);
      if (idx) bySource.set(c, idx);
    }
  const local = new PrefixIndex();
  for (const a of ruleset.routing.addresses) local.addPrefix(a.address);
  for (const r of ruleset.routing.routes) if (r.table === 'local' && r.type === 'local') local.addPrefix(r.dst);
  const tunDevices = new Set(ruleset.routing.interfaces.filter((n) => TUN_DEVICE_NAME.test(n)));
  return {
    ruleset,
    hooks,
    chains,
    sets,
    ipsets: new Map(ruleset.ipsets.map((s) => [s.name, s])),
    local,
    hasAddresses: ruleset.routing.addresses.length > 0 || ruleset.routing.routes.some((r) => r.table === 'local'),
    tunDevices,
    routing: { 4: compileRouting(ruleset, 4), 6: compileRouting(ruleset, 6) },
    bySource,
  };
}

// ---------------------------------------------------------------------------
// Walk state

type End = 'fallthrough' | 'return' | 'accept' | 'drop' | 'stop';

interface State {
  mark: number;
  ctMark: number;
  ctStatus: number;
  daddr: IpValue;
  dport: number;
  oif?: string;
  natBound: boolean;
  redirect?: { port?: number; hop: Hop };
  dnat?: { addr?: string; port?: number; hop: Hop };
  tproxy?: { port?: number; addr?: string; hop: Hop };
  masquerade?: Hop;
  markHop?: Hop;
  dropHop?: Hop;
  lastBypass?: Hop;
  path: Hop[];
  assumptions: string[];
  notes: string[];
  undetermined?: string;
  /** Hops not recorded in `path` (it keeps the first MAX_PATH_HOPS). */
  pathCut?: number;
}

interface Branch {
  st: State;
  end: End;
}

function clone(st: State): State {
  return { ...st, path: st.path.slice(), assumptions: st.assumptions.slice(), notes: st.notes.slice() };
}

interface Ctx {
  c: CompiledRuleset;
  p: ModelledPacket;
  forks: number;
  hook: Hook;
  /** Rules looked at so far (all branches). */
  visits: number;
  /** A limit (forks, visits) was hit: results from now on depend on it and are not remembered. */
  capped: boolean;
  /** What walking a jumped-to chain from a given state gave: reused when the same state jumps there again. */
  memo: Map<string, MemoBranch[]>;
  /** Per indexed chain, the positions of the rules this packet's source address can meet, ascending. */
  order: Map<Chain, number[]>;
  indexSources: boolean;
}

/** The rule positions of `chain` to look at for this packet (all when the chain is not indexed). */
function ruleOrder(ctx: Ctx, chain: Chain): number[] | undefined {
  const idx = ctx.indexSources ? ctx.c.bySource.get(chain) : undefined;
  if (!idx) return undefined;
  let order = ctx.order.get(chain);
  if (!order) {
    const own = idx.byAddr.get(sourceKey(ctx.p.saddr)) ?? [];
    order = [...own, ...idx.rest].sort((a, b) => a - b);
    ctx.order.set(chain, order);
  }
  return order;
}

/** First position in ascending `order` that is >= from. */
function lowerBound(order: number[], from: number): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (order[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const MAX_FORKS = 64;
const MAX_DEPTH = 32;
/**
 * Rules looked at for one packet, over all branches. The golden rulesets need at most 32 (forks
 * included) and 64 forks of a few hundred rules stay well below; chains that
 * jump into each other on very many paths (13 chains each jumping 4 times to the next: 4^13) end
 * here in an honest "undetermined" instead of running for minutes.
 */
export const MAX_RULE_VISITS = 50_000;
/** Chain walks remembered for one packet (each holds at most MAX_PATH_HOPS hops per branch). */
const MAX_MEMO = 2048;
/** Hops kept in a path; the rest are counted and said to be left out. */
export const MAX_PATH_HOPS = 256;

function addHop(st: State, hop: Hop): void {
  if (st.path.length < MAX_PATH_HOPS) st.path.push(hop);
  else st.pathCut = (st.pathCut ?? 0) + 1;
}

// ---------------------------------------------------------------------------
// Reusing the walk of a chain: a jump from the same state (everything a match reads) into the
// same chain ends the same way, so the second time its result is applied instead of walked.

/** The fields of State a walk may change, besides the lists. */
const WALK_FIELDS = [
  'mark',
  'ctMark',
  'ctStatus',
  'daddr',
  'dport',
  'oif',
  'natBound',
  'redirect',
  'dnat',
  'tproxy',
  'masquerade',
  'markHop',
  'dropHop',
  'lastBypass',
  'undetermined',
] as const;

type WalkField = (typeof WALK_FIELDS)[number];

interface MemoBranch {
  end: End;
  set: Partial<Pick<State, WalkField>>;
  path: Hop[];
  pathCut: number;
  assumptions: string[];
  notes: string[];
}

interface Entry {
  fields: Pick<State, WalkField>;
  path: number;
  pathCut: number;
  assumptions: number;
  notes: number;
}

function entryOf(st: State): Entry {
  const fields = {} as Record<WalkField, unknown>;
  for (const f of WALK_FIELDS) fields[f] = st[f];
  return {
    fields: fields as Pick<State, WalkField>,
    path: st.path.length,
    pathCut: st.pathCut ?? 0,
    assumptions: st.assumptions.length,
    notes: st.notes.length,
  };
}

function memoKey(ctx: Ctx, table: Table, chain: Chain, st: State, depth: number): string {
  return [
    ctx.hook,
    table.backend,
    table.family,
    table.name,
    chain.name,
    depth,
    st.mark,
    st.ctMark,
    st.ctStatus,
    st.daddr.family,
    st.daddr.n,
    st.dport,
    st.oif ?? '',
    st.natBound ? 1 : 0,
    st.undetermined === undefined ? 0 : 1,
  ].join('\u0000');
}

function remember(entry: Entry, sub: Branch[]): MemoBranch[] {
  return sub.map((b) => {
    const set: Partial<Record<WalkField, unknown>> = {};
    for (const f of WALK_FIELDS) if (b.st[f] !== entry.fields[f]) set[f] = b.st[f];
    return {
      end: b.end,
      set: set as Partial<Pick<State, WalkField>>,
      path: b.st.path.slice(entry.path),
      pathCut: (b.st.pathCut ?? 0) - entry.pathCut,
      assumptions: b.st.assumptions.slice(entry.assumptions),
      notes: b.st.notes.slice(entry.notes),
    };
  });
}

function replay(st: State, memo: MemoBranch[]): Branch[] {
  const states = memo.map((_, k) => (k === memo.length - 1 ? st : clone(st)));
  return memo.map((m, k) => {
    const s = states[k]!;
    Object.assign(s, m.set);
    for (const hop of m.path) addHop(s, hop);
    if (m.pathCut > 0) s.pathCut = (s.pathCut ?? 0) + m.pathCut;
    s.assumptions.push(...m.assumptions);
    s.notes.push(...m.notes);
    return { st: s, end: m.end };
  });
}

/** Walks a jumped-to chain, or applies what the same walk gave before. */
function walkJump(ctx: Ctx, table: Table, target: Chain, st: State, depth: number): Branch[] {
  const key = memoKey(ctx, table, target, st, depth);
  const known = ctx.memo.get(key);
  if (known) {
    ctx.forks += known.length - 1;
    if (overBudget(ctx, st, table, target)) return [{ st, end: 'stop' }];
    return replay(st, known);
  }
  const entry = entryOf(st);
  const sub = runChain(ctx, table, target, 0, st, depth);
  if (!ctx.capped && ctx.memo.size < MAX_MEMO) ctx.memo.set(key, remember(entry, sub));
  return sub;
}

/** Counts one rule visit; true (and the state undetermined) when a limit is passed. */
function overBudget(ctx: Ctx, st: State, table: Table, chain: Chain): boolean {
  if (++ctx.visits > MAX_RULE_VISITS) {
    ctx.capped = true;
    st.undetermined ??= `evaluation stopped after ${MAX_RULE_VISITS} rule visits at ${table.name} ${chain.name}: chains jump into each other on too many paths to follow`;
    return true;
  }
  if (ctx.forks > MAX_FORKS) {
    ctx.capped = true;
    st.undetermined ??= `more than ${MAX_FORKS} undecidable matches; stopped at ${table.name} ${chain.name}`;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Reading the packet

class Unknown {
  constructor(readonly why: string) {}
}
const ABSENT = Symbol('absent');
type KeyValue = Rt | Unknown | typeof ABSENT;

function readKey(key: Key, ctx: Ctx, st: State): KeyValue {
  const p = ctx.p;
  switch (key.kind) {
    case 'meta':
      switch (key.key) {
        case 'l4proto':
        case 'protocol':
          return p.l4proto;
        case 'nfproto':
          return p.family === 4 ? 2 : 10;
        case 'iifname':
        case 'iif':
          return p.spec.iif;
        case 'oifname':
        case 'oif':
          return st.oif ?? ABSENT;
        case 'mark':
          return st.mark;
        case 'skgid':
        case 'skuid':
        case 'cgroup':
          // Without a socket nft breaks (no match). A forwarded packet never carries one; whether a
          // packet at prerouting does is the packet's socket assumption.
          if (ctx.hook === 'forward' || ctx.hook === 'postrouting' || p.spec.localSocket === 'none') return ABSENT;
          return new Unknown(
            `meta ${key.key}: the owner of a local socket, which replyguard cannot know at ${ctx.hook}`,
          );
        case 'pkttype':
          return 0; // unicast
        default:
          return new Unknown(`meta ${key.key} is not modelled`);
      }
    case 'payload': {
      const { proto, field } = key;
      if (proto === 'ip' || proto === 'ip6') {
        if ((proto === 'ip') !== (p.family === 4)) return ABSENT;
        if (field === 'saddr') return p.saddr;
        if (field === 'daddr') return st.daddr;
        if (field === 'protocol' || field === 'nexthdr') return p.l4proto;
        if (field === 'dscp') return p.spec.dscp ?? 0;
        return new Unknown(`${proto} ${field} is not modelled`);
      }
      if (proto === 'tcp' || proto === 'udp' || proto === 'th' || proto === 'udplite') {
        if (proto === 'tcp' && p.l4proto !== 6) return ABSENT;
        if (proto === 'udp' && p.l4proto !== 17) return ABSENT;
        if (proto === 'th' && p.l4proto !== 6 && p.l4proto !== 17) return ABSENT;
        if (field === 'sport') return p.sport;
        if (field === 'dport') return st.dport;
        if (field === 'flags' && proto === 'tcp') return p.tcpFlags;
        return new Unknown(`${proto} ${field} is not modelled`);
      }
      if (proto === 'icmp' || proto === 'icmpv6') {
        if (p.l4proto !== (proto === 'icmp' ? 1 : 58)) return ABSENT;
        if (field === 'type') return proto === 'icmp' ? 8 : 128;
        return new Unknown(`${proto} ${field} is not modelled`);
      }
      if (proto === 'ether' && field === 'saddr') {
        return p.spec.etherSrc ? p.spec.etherSrc.toLowerCase() : new Unknown('the source MAC address is not known');
      }
      return new Unknown(`${proto} ${field} is not modelled`);
    }
    case 'ct': {
      if (key.key === 'state') return CT_STATE_BITS[p.ctState] ?? 0;
      if (p.ctState === 'invalid' || p.ctState === 'untracked') return ABSENT; // no conntrack entry
      switch (key.key) {
        case 'direction':
          return p.ctDirection === 'reply' ? 1 : 0;
        case 'status':
          return st.ctStatus;
        case 'mark':
          return st.ctMark;
        case 'l3proto':
          return p.family === 4 ? 2 : 10;
        case 'protocol':
          return p.l4proto;
        default:
          return new Unknown(`ct ${key.key} is not modelled`);
      }
    }
    case 'fib': {
      if (key.result !== 'type') return new Unknown(`fib ${key.result} is not modelled`);
      if (!ctx.c.hasAddresses)
        return new Unknown("fib … type: the router's own addresses are not known (no ip -j addr)");
      const a = key.flags.includes('saddr') ? p.saddr : st.daddr;
      if (ctx.c.local.has(a)) return FIB_TYPE.local!;
      if (a.family === 4 && a.n >= 0xe0000000 && a.n < 0xf0000000) return FIB_TYPE.multicast!;
      if (a.family === 4 && a.n === 0xffffffff) return FIB_TYPE.broadcast!;
      return FIB_TYPE.unicast!;
    }
    case 'concat': {
      const out: Rt[] = [];
      for (const part of key.parts) {
        const v = readKey(part, ctx, st);
        if (v === ABSENT || v instanceof Unknown) return v;
        out.push(v);
      }
      return out;
    }
    case 'binop': {
      const l = readKey(key.left, ctx, st);
      if (l === ABSENT || l instanceof Unknown) return l;
      if (typeof l !== 'number' || key.right.kind !== 'num') return new Unknown('a bit operation on a non-number');
      const r = key.right.n;
      switch (key.op) {
        case '&':
          return (l & r) >>> 0;
        case '|':
          return (l | r) >>> 0;
        case '^':
          return (l ^ r) >>> 0;
        case '>>':
          return l >>> r;
        case '<<':
          return (l << r) >>> 0;
      }
      return new Unknown('operator');
    }
    case 'ipset':
      return ABSENT; // resolved in matchIpset
    case 'socket':
      // iptables -m owner without a socket: "--uid-owner X" fails, "! --uid-owner X" matches (xt_owner).
      if (key.key === 'owner') {
        if (p.spec.localSocket === 'none' || ctx.hook === 'forward' || ctx.hook === 'postrouting') return 0;
        return new Unknown('-m owner: the owner of a local socket, which replyguard cannot know here');
      }
      if (p.spec.localSocket === 'none') return ABSENT; // no socket: nft breaks, -m socket does not match
      return new Unknown(`socket ${key.key}: whether the router holds a local socket for this flow is not known`);
  }
}

function evalExpr(e: Expr, ctx: Ctx, st: State): number | Unknown {
  if (e.kind === 'const') return e.n >>> 0;
  if (e.kind === 'key') {
    const v = readKey(e.key, ctx, st);
    if (typeof v === 'number') return v;
    if (v === ABSENT) return 0;
    return v instanceof Unknown ? v : new Unknown('not a number');
  }
  const l = evalExpr(e.left, ctx, st);
  const r = evalExpr(e.right, ctx, st);
  if (l instanceof Unknown) return l;
  if (r instanceof Unknown) return r;
  return (e.op === '&' ? l & r : e.op === '|' ? l | r : l ^ r) >>> 0;
}

// ---------------------------------------------------------------------------
// Matching

interface MatchResult {
  t: Tri;
  why: string[];
}

function lookupSet(ctx: Ctx, table: Table, name: string, iptables: boolean): NamedSet | undefined {
  return iptables ? ctx.c.ipsets.get(name) : ctx.c.sets.get(table)?.get(name);
}

function inNamedSet(set: NamedSet, x: Rt): Tri {
  const t = inElements(set.elements, x, set);
  if (t === F && set.flags.includes('replyguard-incomplete')) return M;
  return t;
}

function matchIpset(ctx: Ctx, st: State, dirs: ('src' | 'dst')[], name: string): { t: Tri; why?: string } {
  const set = ctx.c.ipsets.get(name);
  if (!set) return { t: M, why: `ipset ${name} is not in the ipset dump` };
  const dims = set.keyType.length > 0 ? set.keyType : ['ip'];
  const p = ctx.p;
  const tuple: Rt[] = [];
  for (let i = 0; i < dims.length; i++) {
    const dir = dirs[i] ?? dirs[dirs.length - 1] ?? 'src';
    const d = dims[i];
    if (d === 'ip' || d === 'net') tuple.push(dir === 'src' ? p.saddr : st.daddr);
    else if (d === 'port') {
      if (p.l4proto !== 6 && p.l4proto !== 17) return { t: F };
      const port = dir === 'src' ? p.sport : st.dport;
      // bitmap:port holds bare ports; hash:*,port holds proto:port.
      tuple.push(set.ipsetType?.startsWith('bitmap') ? port : [p.l4proto, port]);
    } else if (d === 'mac') {
      if (!p.spec.etherSrc) return { t: M, why: `ipset ${name}: the source MAC address is not known` };
      tuple.push(p.spec.etherSrc.toLowerCase());
    } else if (d === 'iface') tuple.push(p.spec.iif);
    else return { t: M, why: `ipset ${name}: dimension ${d} is not modelled` };
  }
  const t = inNamedSet(set, tuple.length === 1 ? tuple[0]! : tuple);
  return t === M ? { t, why: `ipset ${name} could not be read completely` } : { t };
}

function matchOne(m: Match, ctx: Ctx, st: State, table: Table): { t: Tri; why?: string } {
  if (m.kind === 'unknown') return { t: M, why: `${m.text}: ${m.why}` };
  const iptables = table.backend !== 'nft';
  if (m.key.kind === 'ipset') {
    if (m.value.kind !== 'setref') return { t: M, why: 'ipset match without a set' };
    const r = matchIpset(ctx, st, m.key.dirs, m.value.name);
    return m.op === '!=' ? { t: not(r.t), ...(r.why ? { why: r.why } : {}) } : r;
  }
  const x = readKey(m.key, ctx, st);
  if (x === ABSENT) return { t: F };
  if (x instanceof Unknown) {
    // Membership in an empty, fully read set is false whatever the key.
    if (m.value.kind === 'setref' && (m.op === '==' || m.op === '!=')) {
      const set = lookupSet(ctx, table, m.value.name, iptables);
      if (set && set.elements.length === 0 && !set.flags.includes('replyguard-incomplete'))
        return { t: m.op === '==' ? F : T };
    }
    return { t: M, why: x.why };
  }
  let t: Tri;
  let why: string | undefined;
  const v = m.value;
  switch (m.op) {
    case 'in':
    case '==':
    case '!=': {
      if (m.op === 'in' && v.kind === 'num' && typeof x === 'number') {
        t = (x & v.n) !== 0 ? T : v.n === 0 && x === 0 ? T : F;
        break;
      }
      if (v.kind === 'setref') {
        const set = lookupSet(ctx, table, v.name, iptables);
        if (!set) {
          t = M;
          why = `set @${v.name} does not exist in table ${table.family} ${table.name}`;
        } else {
          t = inNamedSet(set, x);
          if (t === M) why = `set @${v.name} could not be read completely`;
        }
      } else t = contains(v, x);
      if (m.op === '!=') t = not(t);
      break;
    }
    default: {
      if (typeof x !== 'number' || v.kind !== 'num') {
        t = M;
        why = `comparison ${m.op} on a non-number`;
        break;
      }
      const ok = m.op === '<' ? x < v.n : m.op === '>' ? x > v.n : m.op === '<=' ? x <= v.n : x >= v.n;
      t = ok ? T : F;
    }
  }
  return why ? { t, why } : { t };
}

function matchRule(rule: Rule, ctx: Ctx, st: State, table: Table): MatchResult {
  let out: Tri = T;
  const why: string[] = [];
  for (const m of rule.matches) {
    const r = matchOne(m, ctx, st, table);
    if (r.t === F) return { t: F, why: [] };
    if (r.t === M) {
      out = M;
      if (r.why) why.push(r.why);
    }
  }
  return { t: out, why };
}

// ---------------------------------------------------------------------------
// Walking chains

function hopOf(table: Table, chain: Chain, rule: Rule, effect: string, certain: boolean): Hop {
  return {
    backend: table.backend,
    table: `${table.family} ${table.name}`,
    chain: chain.name,
    position: rule.position,
    ...(rule.handle !== undefined ? { handle: rule.handle } : {}),
    text: rule.text,
    effect,
    certain,
  };
}

function fmtMark(n: number): string {
  return `0x${n.toString(16)}`;
}

/** A matched rule's effect: go on with the next rule of the chain in this state, or these branches (which went on themselves). */
type Step = State | Branch[];

/**
 * Walks a chain from rule `from`. A loop, not a call per rule: only jumps (at most MAX_DEPTH deep)
 * and forks (at most MAX_FORKS) nest.
 */
function runChain(ctx: Ctx, table: Table, chain: Chain, from: number, st: State, depth: number): Branch[] {
  if (depth > MAX_DEPTH) {
    st.undetermined = `jumps nest deeper than ${MAX_DEPTH} chains (a loop?) at ${table.name} ${chain.name}`;
    return [{ st, end: 'stop' }];
  }
  const rules = chain.rules;
  // Rules that require another source address cannot match: an indexed chain skips them.
  const order = ruleOrder(ctx, chain);
  const end = order ? order.length : rules.length;
  for (let k = order ? lowerBound(order, from) : from; k < end; k++) {
    const i = order ? order[k]! : k;
    if (overBudget(ctx, st, table, chain)) return [{ st, end: 'stop' }];
    const rule = rules[i]!;
    const r = matchRule(rule, ctx, st, table);
    if (r.t === F) continue;
    if (r.t === M) {
      if (ctx.forks >= MAX_FORKS) {
        ctx.capped = true;
        st.undetermined = `more than ${MAX_FORKS} undecidable matches; stopped at ${table.name} ${chain.name} rule ${rule.position}`;
        return [{ st, end: 'stop' }];
      }
      ctx.forks++;
      const why = r.why.join('; ') || 'a match replyguard cannot decide';
      const no = clone(st);
      no.assumptions.push(`assumed ${table.name} ${chain.name} rule ${rule.position} does not match (${why})`);
      const noBranches = runChain(ctx, table, chain, i + 1, no, depth);
      st.assumptions.push(`assumed ${table.name} ${chain.name} rule ${rule.position} matches (${why})`);
      const yes = applyRule(ctx, table, chain, i, st, depth, false);
      const yesBranches = Array.isArray(yes) ? yes : runChain(ctx, table, chain, i + 1, yes, depth);
      return [...yesBranches, ...noBranches];
    }
    const step = applyRule(ctx, table, chain, i, st, depth, true);
    if (Array.isArray(step)) return step;
    st = step;
  }
  return [{ st, end: 'fallthrough' }];
}

/** Applies rule i (matched): a State when the walk goes on with rule i + 1 in it. */
function applyRule(ctx: Ctx, table: Table, chain: Chain, i: number, st: State, depth: number, certain: boolean): Step {
  const rule = chain.rules[i]!;
  const effects: string[] = [];
  const hop = hopOf(table, chain, rule, '', certain);
  addHop(st, hop);
  const done = (end: End, effect?: string): Branch[] => {
    if (effect) effects.push(effect);
    hop.effect = effects.join('; ') || 'matched';
    return [{ st, end }];
  };
  for (const op of rule.ops) {
    switch (op.kind) {
      case 'counter':
      case 'log':
        break;
      case 'unknown-statement':
        effects.push(`${op.text} (${op.why})`);
        break;
      case 'set-mark': {
        const v = evalExpr(op.value, ctx, st);
        if (v instanceof Unknown) {
          st.assumptions.push(
            `${op.target} mark unknown after ${table.name} ${chain.name} rule ${rule.position}: ${v.why}`,
          );
          st.undetermined ??= `the mark set by ${table.name} ${chain.name} rule ${rule.position} cannot be computed (${v.why})`;
          effects.push('sets an unknown mark');
        } else if (op.target === 'meta') {
          st.mark = v;
          st.markHop = hop;
          effects.push(`meta mark set ${fmtMark(v)}`);
        } else {
          st.ctMark = v;
          effects.push(`ct mark set ${fmtMark(v)}`);
        }
        break;
      }
      case 'accept':
        return done('accept', 'accept');
      case 'drop':
      case 'reject':
        st.dropHop = hop;
        return done('drop', op.kind);
      case 'queue':
        st.undetermined ??= `queued to user space by ${table.name} ${chain.name} rule ${rule.position}`;
        return done('stop', 'queue (user space decides)');
      case 'return':
        if (ctx.hook === 'prerouting') st.lastBypass = hop;
        return done('return', 'return');
      case 'continue':
        break;
      case 'jump':
      case 'goto': {
        const target = ctx.c.chains.get(table)?.get(op.chain);
        if (!target) {
          st.undetermined ??= `${op.kind} to chain ${op.chain}, which is not in table ${table.name}`;
          return done('stop', `${op.kind} ${op.chain} (missing chain)`);
        }
        hop.effect = [...effects, `${op.kind} ${op.chain}`].join('; ');
        const sub = walkJump(ctx, table, target, st, depth + 1);
        // The common case, one branch back from a jump: go on in this chain without nesting a call.
        if (op.kind === 'jump' && sub.length === 1 && (sub[0]!.end === 'fallthrough' || sub[0]!.end === 'return'))
          return sub[0]!.st;
        const out: Branch[] = [];
        for (const b of sub) {
          if (b.end === 'fallthrough' || b.end === 'return') {
            if (op.kind === 'goto') out.push({ st: b.st, end: 'return' });
            else out.push(...runChain(ctx, table, chain, i + 1, b.st, depth));
          } else out.push(b);
        }
        return out;
      }
      case 'redirect':
      case 'dnat':
      case 'snat':
      case 'masquerade': {
        if (op.kind === 'redirect') {
          st.redirect = { ...(op.port !== undefined ? { port: op.port } : {}), hop };
          if (op.port !== undefined) st.dport = op.port;
          effects.push(`redirect to :${op.port ?? st.dport} (the router's own proxy port)`);
        } else if (op.kind === 'dnat') {
          st.dnat = { ...(op.addr ? { addr: op.addr } : {}), ...(op.port !== undefined ? { port: op.port } : {}), hop };
          const a = op.addr ? ipValue(op.addr) : null;
          if (a) st.daddr = a;
          if (op.port !== undefined) st.dport = op.port;
          effects.push(`dnat to ${op.addr ?? ''}${op.port !== undefined ? `:${op.port}` : ''}`);
        } else {
          st.masquerade = hop;
          effects.push(
            op.kind === 'masquerade'
              ? "masquerade (source becomes the router's address; the peer's reply comes back to the router)"
              : `snat to ${op.addr ?? ''}`,
          );
        }
        st.natBound = true;
        return done('accept');
      }
      case 'tproxy': {
        st.tproxy = { ...(op.port !== undefined ? { port: op.port } : {}), ...(op.addr ? { addr: op.addr } : {}), hop };
        effects.push(`tproxy to ${op.addr ?? ''}:${op.port ?? st.dport} (a local proxy socket takes the packet)`);
        if (op.terminal) return done('accept');
        break;
      }
      case 'vmap': {
        const x = readKey(op.key, ctx, st);
        if (x === ABSENT) break;
        if (x instanceof Unknown) {
          st.undetermined ??= `verdict map key unknown: ${x.why}`;
          return done('stop', 'verdict map (key unknown)');
        }
        const verdict = vmapLookup(ctx, table, op.map, x);
        if (verdict === 'maybe') {
          st.undetermined ??= `verdict map ${rule.text} could not be read`;
          return done('stop', 'verdict map (unreadable)');
        }
        if (!verdict) break;
        // Re-dispatch the found verdict as if it were written in the rule.
        const synthetic: Rule = { ...rule, ops: [verdict] };
        if (st.path[st.path.length - 1] === hop) st.path.pop();
        else st.pathCut = (st.pathCut ?? 1) - 1;
        const patched: Chain = { ...chain, rules: chain.rules.map((r, j) => (j === i ? synthetic : r)) };
        return applyRule(ctx, table, patched, i, st, depth, certain);
      }
      case 'unknown':
        st.assumptions.push(
          `${table.name} ${chain.name} rule ${rule.position}: ${op.why}; assumed it does not stop the packet`,
        );
        st.undetermined ??= `${op.why} (${table.name} ${chain.name} rule ${rule.position})`;
        effects.push(`${op.text} (unknown effect)`);
        break;
    }
  }
  hop.effect = effects.join('; ') || 'matched (no verdict)';
  return st;
}

function vmapLookup(ctx: Ctx, table: Table, map: Value, x: Rt): Verdict | null | 'maybe' {
  if (map.kind === 'setref') {
    const set = ctx.c.sets.get(table)?.get(map.name);
    if (!set?.data) return 'maybe';
    for (let i = 0; i < set.elements.length; i++) {
      if (contains(set.elements[i]!, x) === T) {
        const d = set.data[i];
        return d && 'kind' in d && isVerdict(d) ? d : 'maybe';
      }
    }
    return set.flags.includes('replyguard-incomplete') ? 'maybe' : null;
  }
  if (map.kind !== 'set') return 'maybe';
  for (const e of map.elements) {
    if (e.kind !== 'concat' || e.parts.length !== 2) continue;
    const [k, d] = e.parts as [Value, Value];
    if (contains(k, x) === T && d.kind === 'str') {
      const [kind, chain] = d.s.split(':');
      if (kind === 'jump' || kind === 'goto') return { kind, chain: chain ?? '' };
      if (kind === 'accept' || kind === 'drop' || kind === 'return' || kind === 'continue' || kind === 'reject')
        return { kind };
      return 'maybe';
    }
  }
  return null;
}

function isVerdict(d: Value | Verdict): d is Verdict {
  return ['accept', 'drop', 'return', 'continue', 'reject', 'jump', 'goto'].includes(d.kind);
}

/** All base chains of one hook, in priority order; nat chains only for new entries. */
function runHook(ctx: Ctx, hook: Hook, st: State): State[] {
  ctx.hook = hook;
  let live: State[] = [st];
  const finished: State[] = [];
  const natAllowed = ctx.p.ctState === 'new';
  for (const ref of ctx.c.hooks.get(hook) ?? []) {
    // ip tables see IPv4 only, ip6 tables IPv6 only, inet both; bridge/arp/netdev are not on this path.
    const fam = ref.table.family;
    if (fam === 'ip' ? ctx.p.family !== 4 : fam === 'ip6' ? ctx.p.family !== 6 : fam !== 'inet') continue;
    const next: State[] = [];
    for (const s of live) {
      if (ref.chain.type === 'nat' && (!natAllowed || s.natBound)) {
        next.push(s);
        continue;
      }
      for (const b of runChain(ctx, ref.table, ref.chain, 0, s, 0)) {
        if (b.end === 'drop') {
          finished.push(b.st);
        } else if (b.end === 'stop') {
          finished.push(b.st);
        } else if ((b.end === 'fallthrough' || b.end === 'return') && ref.chain.policy === 'drop') {
          const hop: Hop = {
            backend: ref.table.backend,
            table: `${ref.table.family} ${ref.table.name}`,
            chain: ref.chain.name,
            text: 'policy drop',
            effect: 'drop (chain policy)',
            certain: true,
          };
          addHop(b.st, hop);
          b.st.dropHop = hop;
          finished.push(b.st);
        } else next.push(b.st);
      }
    }
    live = next;
  }
  return [...live, ...finished];
}

// ---------------------------------------------------------------------------
// Routing

interface RouteResult {
  kind: 'local' | 'forward' | 'drop' | 'unknown';
  dev?: string;
  table?: string;
  rule?: IpRule;
  route?: Route;
  text: string;
}

const DEFAULT_RULES: IpRule[] = [
  { priority: 0, table: 'local', family: 4 },
  { priority: 32766, table: 'main', family: 4 },
  { priority: 32767, table: 'default', family: 4 },
];

function ruleText(r: IpRule): string {
  const parts = [`${r.priority}:`];
  if (r.not) parts.push('not');
  parts.push(`from ${r.src ?? 'all'}`);
  if (r.dst) parts.push(`to ${r.dst}`);
  if (r.iif) parts.push(`iif ${r.iif}`);
  if (r.fwmark !== undefined)
    parts.push(`fwmark ${fmtMark(r.fwmark)}${r.fwmask !== undefined ? `/${fmtMark(r.fwmask)}` : ''}`);
  parts.push(r.action && !r.table ? r.action : `lookup ${r.table}`);
  return parts.join(' ');
}

function routeLookup(ctx: Ctx, st: State): RouteResult {
  const p = ctx.p;
  const cr = ctx.c.routing[p.family];
  if (cr.empty) {
    if (ctx.c.hasAddresses && ctx.c.local.has(st.daddr))
      return { kind: 'local', text: "destination is one of the router's addresses" };
    return { kind: 'forward', text: 'no routing dump: assumed routed onwards (forwarded)' };
  }
  for (const { rule: r, src, dst, text: rtext } of cr.rules) {
    let ok = true;
    if (r.fwmark !== undefined && (st.mark & (r.fwmask ?? 0xffffffff)) >>> 0 !== r.fwmark) ok = false;
    if (ok && src && !inBounds(src, p.saddr)) ok = false;
    if (ok && dst && !inBounds(dst, st.daddr)) ok = false;
    if (ok && r.iif && r.iif !== p.spec.iif) ok = false;
    if (r.not) ok = !ok;
    if (!ok) continue;
    if (r.action && !r.table) {
      if (['unreachable', 'prohibit', 'blackhole'].includes(r.action))
        return { kind: 'drop', rule: r, text: `ip rule ${rtext}` };
      continue;
    }
    // Longest prefix match in the table (the list is sorted longest first).
    const best = cr.tables.get(r.table)?.find((e) => inBounds(e.bounds, st.daddr))?.route;
    if (!best || best.type === 'throw') continue;
    const text = `ip rule ${rtext} → table ${r.table}: ${best.type === 'unicast' ? '' : `${best.type} `}${best.dst}${best.gateway ? ` via ${best.gateway}` : ''}${best.dev ? ` dev ${best.dev}` : ''}`;
    if (best.type === 'local') return { kind: 'local', table: r.table, rule: r, route: best, text };
    if (['blackhole', 'unreachable', 'prohibit'].includes(best.type))
      return { kind: 'drop', rule: r, route: best, text };
    return { kind: 'forward', ...(best.dev ? { dev: best.dev } : {}), table: r.table, rule: r, route: best, text };
  }
  return { kind: 'drop', text: 'no route matches (unreachable)' };
}

// ---------------------------------------------------------------------------
// One packet

function baseOf(st: State): Pick<Outcome, 'path' | 'assumptions' | 'notes' | 'pathCut'> {
  return {
    path: st.path,
    assumptions: st.assumptions,
    notes: st.notes,
    ...(st.pathCut ? { pathCut: st.pathCut } : {}),
  };
}

function finish(ctx: Ctx, st: State): Outcome | Outcome[] {
  const base = baseOf(st);
  if (st.dropHop) return { verdict: 'dropped', responsible: st.dropHop, ...base };
  if (st.undetermined) return { verdict: 'undetermined', ...base, notes: [...st.notes, st.undetermined] };
  if (st.redirect) {
    return {
      verdict: 'proxied',
      how: {
        kind: 'redirect',
        ...(st.redirect.port !== undefined ? { port: st.redirect.port } : { port: ctx.p.dport }),
      },
      responsible: st.redirect.hop,
      ...base,
    };
  }
  const route = routeLookup(ctx, st);
  const routeHop: Hop = {
    backend: 'route',
    table: route.table ?? '',
    chain: route.rule ? `ip rule ${route.rule.priority}` : 'routing',
    text: route.text,
    effect:
      route.kind === 'local'
        ? 'delivered to the router itself'
        : route.kind === 'drop'
          ? 'dropped by routing'
          : `forwarded${route.dev ? ` out of ${route.dev}` : ''}`,
    certain: true,
  };
  st.path.push(routeHop);
  if (route.kind === 'drop') return { verdict: 'dropped', responsible: routeHop, ...base };
  if (st.tproxy) {
    if (route.kind === 'local') {
      return {
        verdict: 'proxied',
        how: {
          kind: 'tproxy',
          port: st.tproxy.port ?? st.dport,
          ...(st.tproxy.addr ? { addr: st.tproxy.addr } : {}),
          ...(route.table ? { table: route.table } : {}),
          mark: st.mark,
        },
        responsible: st.tproxy.hop,
        ...base,
      };
    }
    st.notes.push('TPROXY assigned a proxy socket, but no policy route delivers the packet locally');
  }
  if (route.kind === 'local') {
    if (st.dnat) return { verdict: 'local', responsible: st.dnat.hop, ...base };
    return { verdict: 'local', responsible: routeHop, ...base };
  }
  const dev = route.dev;
  const viaMarkRule = route.rule?.fwmark !== undefined;
  const isTun =
    dev !== undefined &&
    !route.route?.gateway &&
    (ctx.c.tunDevices.has(dev) || TUN_DEVICE_NAME.test(dev)) &&
    (viaMarkRule || route.table !== 'main');
  if (isTun) {
    return {
      verdict: 'proxied',
      how: { kind: 'tun', device: dev, ...(route.table ? { table: route.table } : {}), mark: st.mark },
      responsible: st.markHop ?? routeHop,
      ...base,
    };
  }
  // Forwarded: the forward and postrouting hooks may still drop or masquerade it (every branch kept).
  st.oif = dev;
  const outcomes: Outcome[] = [];
  let live: State[] = [st];
  for (const hook of ['forward', 'postrouting'] as Hook[]) {
    const next: State[] = [];
    for (const s0 of live) {
      s0.natBound = false; // a source NAT binding is separate from a destination one
      for (const s of runHook(ctx, hook, s0)) {
        const base = baseOf(s);
        if (s.dropHop) outcomes.push({ verdict: 'dropped', responsible: s.dropHop, ...base });
        else if (s.undetermined)
          outcomes.push({ verdict: 'undetermined', ...base, notes: [...s.notes, s.undetermined] });
        else next.push(s);
      }
    }
    live = next;
  }
  for (const s of live) {
    if (s.masquerade)
      s.notes.push(`masqueraded by ${s.masquerade.table} ${s.masquerade.chain} rule ${s.masquerade.position}`);
    const responsible = s.masquerade ?? s.lastBypass ?? (s.dnat ? s.dnat.hop : undefined);
    outcomes.push({ verdict: 'forwarded', ...(responsible ? { responsible } : {}), ...baseOf(s) });
  }
  return outcomes;
}

const RANK: Record<FinalVerdict, number> = { proxied: 0, dropped: 1, undetermined: 2, local: 3, forwarded: 4 };

export interface EvaluateOptions {
  /** Reuse the walk of a chain jumped to again from the same state (default true; false only to test that reuse changes nothing). */
  reuseWalks?: boolean;
  /** Skip the rules of other source addresses in long chains (default true; false only to test that it changes nothing). */
  indexSources?: boolean;
}

/** Never throws: an internal error becomes an undetermined result that says so. */
export function evaluatePacket(c: CompiledRuleset, p: ModelledPacket, opts: EvaluateOptions = {}): Evaluation {
  try {
    return evaluateUnsafe(c, p, opts.reuseWalks !== false, opts.indexSources !== false);
  } catch (err) {
    return {
      verdict: 'undetermined',
      certain: false,
      path: [],
      reasons: [`internal error in the evaluator: ${(err as Error).message}`],
      outcomes: [],
      ctState: p.ctState,
      ctReason: p.ctReason,
      notes: [],
      ruleVisits: 0,
    };
  }
}

function evaluateUnsafe(c: CompiledRuleset, p: ModelledPacket, reuseWalks: boolean, indexSources: boolean): Evaluation {
  const ctx: Ctx = {
    c,
    p,
    forks: 0,
    hook: 'prerouting',
    visits: 0,
    capped: !reuseWalks,
    memo: new Map(),
    order: new Map(),
    indexSources,
  };
  const st: State = {
    mark: p.mark,
    ctMark: p.ctMark,
    ctStatus: p.ctStatus,
    daddr: p.daddr,
    dport: p.dport,
    natBound: false,
    path: [],
    assumptions: [],
    notes: [],
  };
  const outcomes: Outcome[] = [];
  for (const s of runHook(ctx, 'prerouting', st)) {
    const o = finish(ctx, s);
    if (Array.isArray(o)) outcomes.push(...o);
    else outcomes.push(o);
  }
  // The worst case is reported first: a swallowed packet (proxied, dropped) before an undetermined one
  // before one that passes; among equals, the branch that assumed the maybes matched.
  if (outcomes.length > 1) outcomes.sort((a, b) => RANK[a.verdict] - RANK[b.verdict]);
  const first = outcomes[0]!;
  const verdicts = new Set(outcomes.map((o) => `${o.verdict} ${o.how?.kind ?? ''} ${o.how?.port ?? ''}`));
  const reasons: string[] = [];
  // A dump that could not be read leaves rules unknown: nothing is certain then.
  const broken = c.ruleset.issues.filter((i) => i.severity === 'error');
  for (const b of broken) reasons.push(`${b.source}: ${b.message}`);
  const certain = verdicts.size === 1 && first.verdict !== 'undetermined' && broken.length === 0;
  if (!certain) {
    for (const o of outcomes) {
      if (o.verdict === 'undetermined') reasons.push(...o.notes);
    }
    const assumed = new Set(
      outcomes.flatMap((o) => o.assumptions.filter((a) => a.startsWith('assumed') && a.includes('matches ('))),
    );
    for (const a of assumed)
      reasons.push(a.replace(/^assumed /, 'it depends whether ').replace(' matches (', ' matches: '));
  }
  const distinct: Outcome[] = [];
  const seen = new Set<string>();
  for (const o of outcomes) {
    const k = `${o.verdict} ${o.how?.kind ?? ''} ${o.how?.port ?? ''}`;
    if (seen.has(k)) continue;
    seen.add(k);
    distinct.push(o);
  }
  return {
    verdict:
      broken.length > 0 && first.verdict !== 'proxied' && first.verdict !== 'dropped' ? 'undetermined' : first.verdict,
    certain,
    ...(first.how ? { how: first.how } : {}),
    path: first.path,
    ...(first.responsible ? { responsible: first.responsible } : {}),
    reasons: [...new Set(reasons)],
    outcomes: distinct,
    ctState: p.ctState + (p.ctDirection ? ` (${p.ctDirection})` : ''),
    ctReason: p.ctReason,
    notes: first.pathCut
      ? [...first.notes, `the path shows the first ${MAX_PATH_HOPS} rules met; ${first.pathCut} more are left out`]
      : first.notes,
    ruleVisits: ctx.visits,
  };
}
