// The guard plan (issue 7): which rules exempt exactly the replies of inbound
// connections (port-forwarded servers answering outside clients) from the
// transparent proxy that swallows them, where they go and why. Pure: a
// ruleset model + the declared forwards + the LAN in, a GuardPlan out. Each
// step carries the rule as the tool takes it (nft text / iptables argv) and
// as the ruleset model holds it, so that the plan can be checked on the
// model (simulateGuard) before anything touches the kernel.
//
// The planner asks the evaluator which reply packets are swallowed and by
// which rule, and guards exactly those (research/proxies.md §5, verified in
// the lab):
//  - nat REDIRECT (the mid-stream pickup is redirected): an identity NAT
//    binding (`dnat ip to ip daddr`) in replyguard's own table at priority
//    dstnat - 10, which ends the nat chains for that conntrack entry — the
//    proxy's chains are not touched and a proxy restart cannot flush it.
//    Without nft (fw3 only): `RETURN` at the top of the proxy's nat chain.
//  - TPROXY / TUN (the SYN-ACK itself is taken in mangle): `return` at the top
//    of the proxy's chain that the packet enters, for TCP without SYN in
//    conntrack state invalid or new, and for the declared UDP forwards.
// A packet swallowed by a chain no proxy owns is reported, never guarded.

import type { ForwardConfig } from '../config/config';
import { commitAndRestart } from '../detector/fix';
import { PEER_PORT, PUBLIC_PEERS } from '../detector/outside-peers';
import { NON_PUBLIC_V4, NON_PUBLIC_V6, parsePrefix } from '../net/ip-address';
import { lanAcTrafficCommands } from '../proxies/openclash';
import { compileRuleset, type Evaluation, evaluatePacket, type Hop } from '../ruleset/evaluate';
import type { Chain, Key, Match, Op, Rule, Ruleset, Table, Value } from '../ruleset/model';
import { modelPacket, type PacketSpec, packetWord, type ReplyPacket } from '../ruleset/packet';
import { type ProxyInfo, proxyOfHop, recognizeProxies } from '../ruleset/recognize-proxy';
import { shellWord } from '../util/shell-quote';

/** The comment every guard rule carries: `remove` deletes exactly the rules with it. */
export const GUARD_TAG = 'replyguard-guard';
/** replyguard's own nft table for the nat guard (family inet). */
export const GUARD_TABLE = 'replyguard_guard';
export const GUARD_NAT_CHAIN = 'nat_pre';
/** dstnat - 10: before every proxy's nat chain (OpenClash/fw4 -100, nikki -99, Passwall -101). */
export const GUARD_NAT_PRIORITY = -110;
/** Source NAT counterpart against a proxy's masquerade (OpenClash bypass_gateway_compatible). */
export const GUARD_SNAT_CHAIN = 'nat_post';
/** srcnat - 10: before the proxy's srcnat chains (100). */
export const GUARD_SNAT_PRIORITY = 90;

/** Base chains of replyguard's own table: hook, priority and the header nft takes. */
export const GUARD_CHAINS: Record<string, { hook: 'prerouting' | 'postrouting'; priority: number; header: string }> = {
  [GUARD_NAT_CHAIN]: {
    hook: 'prerouting',
    priority: GUARD_NAT_PRIORITY,
    header: 'type nat hook prerouting priority dstnat - 10; policy accept;',
  },
  [GUARD_SNAT_CHAIN]: {
    hook: 'postrouting',
    priority: GUARD_SNAT_PRIORITY,
    header: 'type nat hook postrouting priority srcnat - 10; policy accept;',
  },
};

/**
 * nft's identifier charset (scanner.l: a letter, '_' or '.', then letters, digits, '/', '-', '_', '.').
 * Table and chain names from the ruleset go into an `nft -f` script as they are; a name outside it
 * (a ';', a line break, a quote, a space …) could end the statement and add another one.
 */
export function isNftName(name: string): boolean {
  return /^[A-Za-z_.][A-Za-z0-9_./-]*$/.test(name);
}

/**
 * An outside peer for the hypothetical replies. IPv6: a public address (diagnose's first peer), not a
 * documentation one: OpenClash's localnetwork6 (and other proxies' reserved sets) hold 2001:db8::/32, so
 * the proxy's chain returns replies to 2001:db8::/32 early and a plan walked towards it would find
 * nothing to guard — measured in the lab (test/integration/guard-ipv6.test.ts).
 */
const PEER = { 4: PUBLIC_PEERS[4][0]!, 6: PUBLIC_PEERS[6][0]! } as const;

export type GuardBackend = 'nft' | 'iptables' | 'ip6tables';

export interface GuardStep {
  backend: GuardBackend;
  /** "inet replyguard_guard", "inet fw4" (nft: family + name); "nat", "mangle" (iptables). */
  table: string;
  chain: string;
  /** create-table: replyguard's own table with this base chain; insert: at the top of a proxy chain; add: append to our chain. */
  op: 'create-table' | 'insert' | 'add';
  /** nft: the rule (or, for create-table, the chain header) as `nft` takes it. iptables: the argv after `-I CHAIN 1`, joined. */
  rule: string;
  /** iptables only: the rule spec as an argv array (after `-t T -I CHAIN 1`). */
  argv?: string[];
  /** iptables only: which binary variant holds the table. */
  variant?: 'legacy' | 'nft';
  tag: string;
  why: string;
  /** The proxy whose rule this step exempts the replies from. */
  proxy: string;
  family: 4 | 6;
  /** The rule as the model holds it (create-table: the base chain with no rules). */
  model?: Rule;
}

export interface GuardPacket {
  /** Which forward (name), or "LAN" for the representative LAN server. */
  forward: string;
  proto: 'tcp' | 'udp';
  kind: ReplyPacket | 'lan-syn';
  from: string;
  to: string;
}

export interface PacketCheck extends GuardPacket {
  verdict: Evaluation['verdict'];
  /** Forwarded, but a proxy's chain masquerades it (table chain: text): the peer cannot use it either. */
  masqueraded?: string;
  /** proxied by which rule (table chain: text). */
  by?: string;
  how?: string;
}

export interface GuardPlan {
  /** ok: steps to apply; nothing-to-do: no reply is swallowed; not-applicable: swallowed, but by nothing replyguard may guard. */
  status: 'ok' | 'nothing-to-do' | 'not-applicable';
  scope: 'forwards' | 'lan';
  proxies: { name: string; label: string; mode: string; backend: string }[];
  steps: GuardStep[];
  /** The replies before the guard (on the ruleset without any guard). */
  before: PacketCheck[];
  /** The same packets on the model with the plan applied (simulated). */
  after: PacketCheck[];
  notes: string[];
  /** The proxy's own setting that would do the same (OpenClash lan_ac_traffic …), as commands. */
  native: string[];
}

export interface GuardInput {
  /** The ruleset; guard rules already in it (tag or own table) are ignored. */
  ruleset: Ruleset;
  forwards: readonly ForwardConfig[];
  /** LAN prefixes, used when no forward is declared. */
  lanSubnets: readonly string[];
  /** Interface the replies come in on (br-lan). */
  iif: string;
  /** Where the nat guard goes: auto = own nft table when nft is there, else in-chain iptables RETURN. */
  natBackend?: 'auto' | 'nft' | 'iptables';
}

// ---------------------------------------------------------------------------
// Model helpers

const num = (n: number): Value => ({ kind: 'num', n });
const TCP_FLAGS_MASK = 0x17; // fin|syn|rst|ack
const SYN = 0x02;
const CT_INVALID = 1;
const CT_NEW = 8;

function prefixValue(text: string): Value | null {
  const p = parsePrefix(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`);
  if (!p) return null;
  const [addr, bits] = p.text.split('/');
  return { kind: 'prefix', family: p.family, addr: addr!, bits: Number(bits) };
}

function setOf(values: readonly string[]): Value {
  return { kind: 'set', elements: values.map(prefixValue).filter((v): v is Value => v !== null) };
}

function payload(proto: string, field: string): Key {
  return { kind: 'payload', proto, field };
}

function cmp(key: Key, op: '==' | '!=' | 'in', value: Value): Match {
  return { kind: 'cmp', key, op, value };
}

const notSyn = (): Match =>
  cmp({ kind: 'binop', op: '&', left: payload('tcp', 'flags'), right: num(TCP_FLAGS_MASK) }, '!=', num(SYN));
const ctNewOrInvalid = (): Match => cmp({ kind: 'ct', key: 'state' }, 'in', num(CT_NEW | CT_INVALID));
const l4 = (p: 'tcp' | 'udp'): Match => cmp({ kind: 'meta', key: 'l4proto' }, '==', num(p === 'tcp' ? 6 : 17));

/** Who a guard rule is for: one forward's host:port, or the whole LAN towards public addresses. */
interface Source {
  family: 4 | 6;
  proto: 'tcp' | 'udp';
  /** host:port of a declared forward. */
  host?: string;
  port?: number;
  /** LAN prefixes (lan scope). */
  subnets?: string[];
  label: string;
}

function nftSource(s: Source): { text: string; matches: Match[] } {
  const ip = s.family === 4 ? 'ip' : 'ip6';
  const nonPublic = s.family === 4 ? NON_PUBLIC_V4 : NON_PUBLIC_V6;
  const parts: string[] = [];
  const matches: Match[] = [];
  if (s.host !== undefined && s.port !== undefined) {
    parts.push(`${ip} saddr ${s.host}`, `${s.proto} sport ${s.port}`);
    matches.push(
      cmp(payload(ip, 'saddr'), '==', prefixValue(s.host)!),
      cmp(payload(s.proto, 'sport'), '==', num(s.port)),
    );
  } else {
    const subnets = s.subnets ?? [];
    parts.push(
      `${ip} saddr { ${subnets.join(', ')} }`,
      `${ip} daddr != { ${nonPublic.join(', ')} }`,
      `meta l4proto ${s.proto}`,
    );
    matches.push(
      cmp(payload(ip, 'saddr'), '==', setOf(subnets)),
      cmp(payload(ip, 'daddr'), '!=', setOf(nonPublic)),
      l4(s.proto),
    );
  }
  return { text: parts.join(' '), matches };
}

function iptSource(s: Source, subnet?: string): { argv: string[]; matches: Match[] } {
  const ip = s.family === 4 ? 'ip' : 'ip6';
  if (s.host !== undefined && s.port !== undefined)
    return {
      argv: ['-s', s.host, '-p', s.proto, '--sport', String(s.port)],
      matches: [
        cmp(payload(ip, 'saddr'), '==', prefixValue(s.host)!),
        cmp(payload(s.proto, 'sport'), '==', num(s.port)),
      ],
    };
  return {
    argv: ['-s', subnet!, '-p', s.proto],
    matches: [cmp(payload(ip, 'saddr'), '==', prefixValue(subnet!)!), l4(s.proto)],
  };
}

const COMMENT = ` comment "${GUARD_TAG}"`;
const IPT_COMMENT = ['-m', 'comment', '--comment', GUARD_TAG];

function modelRule(text: string, matches: Match[], verdict: Op): Rule {
  return { position: 0, text, comment: GUARD_TAG, matches, ops: [{ kind: 'counter' }, verdict] };
}

// ---------------------------------------------------------------------------
// The packets to check

function representativeHost(subnet: string): string | null {
  const p = parsePrefix(subnet);
  if (p?.family !== 4 || Number(p.text.split('/')[1]) > 28) return null;
  const base = p.text.split('/')[0]!.split('.').map(Number);
  base[3] = (base[3]! + 10) & 0xff;
  return base.join('.');
}

export function guardPackets(input: Pick<GuardInput, 'forwards' | 'lanSubnets'>): GuardPacket[] {
  const out: GuardPacket[] = [];
  const add = (forward: string, host: string, port: number, proto: 'tcp' | 'udp') => {
    const fam = host.includes(':') ? 6 : 4;
    const peer = fam === 6 ? `[${PEER[6]}]:${PEER_PORT}` : `${PEER[4]}:${PEER_PORT}`;
    const from = fam === 6 ? `[${host}]:${port}` : `${host}:${port}`;
    if (proto === 'tcp') {
      out.push({ forward, proto, kind: 'synack', from, to: peer });
      out.push({ forward, proto, kind: 'ack', from, to: peer });
    } else out.push({ forward, proto, kind: 'udp', from, to: peer });
  };
  if (input.forwards.length > 0) for (const f of input.forwards) add(f.name, f.host, f.port, f.proto);
  else {
    const host = input.lanSubnets.map(representativeHost).find((h) => h !== null);
    if (host) add('LAN', host, 443, 'tcp');
  }
  // A LAN host's own new connection to the internet: the proxy must keep taking it.
  const first = out[0];
  if (first) {
    const host = first.from.replace(/^\[?([^\]]*)\]?:\d+$/, '$1');
    const fam = host.includes(':') ? 6 : 4;
    out.push({
      forward: first.forward,
      proto: 'tcp',
      kind: 'lan-syn',
      from: fam === 6 ? `[${host}]:${PEER_PORT + 1}` : `${host}:${PEER_PORT + 1}`,
      to: fam === 6 ? `[${PEER[6]}]:443` : `${PEER[4]}:443`,
    });
  }
  return out;
}

function endpoint(text: string): { ip: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  return { ip: m?.[1] ?? text, port: Number(m?.[2] ?? 0) };
}

function specOf(p: GuardPacket, iif: string): PacketSpec {
  const a = endpoint(p.from);
  const b = endpoint(p.to);
  return {
    proto: p.proto,
    src: a.ip,
    sport: a.port,
    dst: b.ip,
    dport: b.port,
    iif,
    localSocket: 'none',
    ...(p.proto === 'tcp' ? { flags: p.kind === 'lan-syn' ? 'syn' : p.kind === 'synack' ? 'synack' : 'ack' } : {}),
  };
}

function hopText(h: Hop | undefined): string | undefined {
  return h ? `${h.table} ${h.chain}: ${h.text}` : undefined;
}

export interface Checked {
  check: PacketCheck;
  ev: Evaluation | null;
}

/** Evaluates the packets on a ruleset (loose = nf_conntrack_tcp_loose as the ruleset says). */
export function checkPackets(rs: Ruleset, packets: readonly GuardPacket[], iif: string): Checked[] {
  const compiled = compileRuleset(rs);
  const proxies = recognizeProxies(rs);
  return packets.map((p) => {
    const mp = modelPacket(specOf(p, iif), rs.tcpLoose !== undefined ? { tcpLoose: rs.tcpLoose } : {});
    if (typeof mp === 'string') return { check: { ...p, verdict: 'undetermined', by: mp }, ev: null };
    const ev = evaluatePacket(compiled, mp);
    const proxied = ev.outcomes.find((o) => o.verdict === 'proxied');
    const shown = proxied ?? ev.outcomes[0];
    const verdict = proxied ? 'proxied' : ev.verdict;
    const by = hopText(shown?.responsible);
    const how = shown?.how
      ? `${shown.how.kind}${shown.how.port !== undefined ? ` :${shown.how.port}` : ''}${shown.how.device ? ` ${shown.how.device}` : ''}`
      : undefined;
    const masq = p.kind !== 'lan-syn' ? masqueradedBy(ev, proxies) : null;
    return {
      check: {
        ...p,
        verdict,
        ...(verdict === 'proxied' && by ? { by } : {}),
        ...(verdict === 'proxied' && how ? { how } : {}),
        ...(masq ? { masqueraded: hopText(masq.hop)! } : {}),
      },
      ev,
    };
  });
}

/** A reply packet is swallowed when any outcome has it proxied (the LAN SYN is not a reply). */
export function swallowed(c: PacketCheck): boolean {
  return c.kind !== 'lan-syn' && (c.verdict === 'proxied' || c.masqueraded !== undefined);
}

// ---------------------------------------------------------------------------
// Guard rules in a ruleset

export function isGuardTable(t: Table): boolean {
  return t.backend === 'nft' && t.family === 'inet' && t.name === GUARD_TABLE;
}

export function isGuardRule(r: Rule): boolean {
  return r.comment === GUARD_TAG;
}

/** The ruleset without replyguard's guard (its table and every tagged rule). */
export function stripGuard(rs: Ruleset): Ruleset {
  return {
    ...rs,
    tables: rs.tables
      .filter((t) => !isGuardTable(t))
      .map((t) => ({
        ...t,
        chains: t.chains.map((c) => ({ ...c, rules: renumber(c.rules.filter((r) => !isGuardRule(r))) })),
      })),
  };
}

function renumber(rules: Rule[]): Rule[] {
  return rules.map((r, i) => (r.position === i + 1 ? r : { ...r, position: i + 1 }));
}

function tableKey(t: Table): string {
  return t.backend === 'nft' ? `${t.family} ${t.name}` : t.name;
}

function backendOf(t: Table): GuardBackend {
  return t.backend === 'nft' ? 'nft' : t.backend === 'ip6tables' ? 'ip6tables' : 'iptables';
}

/** The model with the plan's rules in it, as the kernel would hold them after `guard apply`. */
export function simulateGuard(rs: Ruleset, steps: readonly GuardStep[]): Ruleset {
  const tables: Table[] = rs.tables.map((t) => ({ ...t, chains: t.chains.slice() }));
  // Each chain is rebuilt once, whatever the number of steps: inserts in order at its top, adds at its end.
  const edits = new Map<Chain, { table: Table; at: number; insert: Rule[]; add: Rule[] }>();
  const chainOf = (t: Table, name: string) => {
    const at = t.chains.findIndex((x) => x.name === name);
    return at < 0 ? undefined : { at, chain: t.chains[at]! };
  };
  for (const s of steps) {
    if (s.op === 'create-table') {
      const [family, name] = s.table.split(' ');
      let own = tables.find((t) => t.backend === 'nft' && tableKey(t) === s.table);
      if (!own) {
        own = { backend: 'nft', family: family!, name: name!, chains: [], sets: [] };
        tables.push(own);
      }
      const def = GUARD_CHAINS[s.chain];
      if (def && !own.chains.some((c) => c.name === s.chain))
        own.chains.push({
          name: s.chain,
          hook: def.hook,
          type: 'nat',
          priority: def.priority,
          policy: 'accept',
          rules: [],
        });
      continue;
    }
    const t = tables.find(
      (x) =>
        backendOf(x) === s.backend &&
        tableKey(x) === s.table &&
        (s.backend === 'nft' || x.family === (s.family === 4 ? 'ip' : 'ip6')),
    );
    const found = t ? chainOf(t, s.chain) : undefined;
    if (!t || !found || !s.model) continue;
    let e = edits.get(found.chain);
    if (!e) {
      e = { table: t, at: found.at, insert: [], add: [] };
      edits.set(found.chain, e);
    }
    (s.op === 'add' ? e.add : e.insert).push({ ...s.model });
  }
  for (const [chain, e] of edits)
    e.table.chains[e.at] = { ...chain, rules: renumber([...e.insert, ...chain.rules, ...e.add]) };
  return { ...rs, tables };
}

// ---------------------------------------------------------------------------
// Planning

/** The chain to guard on this path: the first chain of the proxy that is not a base chain (else its base chain). */
function chainToGuard(
  rs: Ruleset,
  proxies: ProxyInfo[],
  path: Hop[],
): { hop: Hop; proxy: ProxyInfo; table: Table } | null {
  let fallback: { hop: Hop; proxy: ProxyInfo; table: Table } | null = null;
  for (const h of path) {
    if (h.backend === 'route') continue;
    const proxy = proxyOfHop(proxies, h);
    if (!proxy) continue;
    const table = rs.tables.find(
      (t) =>
        `${t.family} ${t.name}` === h.table &&
        (t.backend === h.backend || (h.backend !== 'nft' && t.backend !== 'nft')),
    );
    const chain = table?.chains.find((c) => c.name === h.chain);
    if (!table || !chain) continue;
    if (!chain.hook) return { hop: h, proxy, table };
    fallback ??= { hop: h, proxy, table };
  }
  return fallback;
}

/** The declared forwards by name (names are unique; the map saves a scan per packet). */
function forwardsByName(input: GuardInput): Map<string, ForwardConfig[]> {
  const m = new Map<string, ForwardConfig[]>();
  for (const f of input.forwards) {
    const list = m.get(f.name);
    if (list) list.push(f);
    else m.set(f.name, [f]);
  }
  return m;
}

function sourcesFor(
  input: GuardInput,
  byName: Map<string, ForwardConfig[]>,
  family: 4 | 6,
  proto: 'tcp' | 'udp',
  forward: string,
): Source[] {
  if (forward === 'LAN') {
    const subnets = input.lanSubnets.filter((s) => s.includes(':') === (family === 6));
    return subnets.length > 0 ? [{ family, proto, subnets, label: 'the LAN' }] : [];
  }
  return (byName.get(forward) ?? [])
    .filter((f) => f.proto === proto)
    .map((f) => ({
      family,
      proto,
      host: f.host,
      port: f.port,
      label: `forward '${f.name}' (${f.host}:${f.port}/${proto})`,
    }));
}

/** One rule in replyguard's own nft table: the nat and snat guards differ only in chain, text and why. */
function ownTableStep(src: Source, proxy: ProxyInfo, chain: string, text: string, why: string, model: Rule): GuardStep {
  return {
    backend: 'nft',
    table: `inet ${GUARD_TABLE}`,
    chain,
    op: 'add',
    rule: text,
    tag: GUARD_TAG,
    family: src.family,
    proxy: proxy.label,
    why,
    model,
  };
}

function natStepsNft(src: Source, proxy: ProxyInfo, redirectBy: string): GuardStep[] {
  const ip = src.family === 4 ? 'ip' : 'ip6';
  const s = nftSource(src);
  const text = `meta nfproto ipv${src.family} ${s.text} tcp flags & (fin|syn|rst|ack) != syn counter dnat ${ip} to ${ip} daddr${COMMENT}`;
  const why =
    `${src.label}: the reply after the SYN-ACK is picked up mid-stream as a new conntrack entry and ` +
    `${redirectBy} redirects it to the proxy, which resets the connection. An identity NAT binding ` +
    `(destination unchanged) before every nat chain of the proxy ends the nat chains for exactly these ` +
    `entries; the proxy's own chains stay untouched, connections a LAN host starts (with a SYN) are ` +
    'still redirected.';
  const matches = [cmp({ kind: 'meta', key: 'nfproto' }, '==', num(src.family === 4 ? 2 : 10)), ...s.matches, notSyn()];
  return [ownTableStep(src, proxy, GUARD_NAT_CHAIN, text, why, modelRule(text, matches, { kind: 'dnat' }))];
}

function snatStepsNft(src: Source, proxy: ProxyInfo, masqueradeBy: string): GuardStep[] {
  const ip = src.family === 4 ? 'ip' : 'ip6';
  const s = nftSource(src);
  const tcp = src.proto === 'tcp' ? ' tcp flags & (fin|syn|rst|ack) != syn' : '';
  const text = `meta nfproto ipv${src.family} ${s.text}${tcp} counter snat ${ip} to ${ip} saddr${COMMENT}`;
  const matches = [cmp({ kind: 'meta', key: 'nfproto' }, '==', num(src.family === 4 ? 2 : 10)), ...s.matches];
  if (src.proto === 'tcp') matches.push(notSyn());
  const why =
    `${src.label}: ${masqueradeBy} masquerades the replies (the peer then gets them from this router's address ` +
    'and resets the connection). An identity source NAT binding (source unchanged) at priority srcnat - 10 ends ' +
    "the source nat chains for exactly these entries; the proxy's own traffic is still masqueraded.";
  return [ownTableStep(src, proxy, GUARD_SNAT_CHAIN, text, why, modelRule(text, matches, { kind: 'snat' }))];
}

function iptablesTable(table: Table): { name: string; variant?: 'legacy' | 'nft' } {
  return { name: table.name, ...(table.variant ? { variant: table.variant } : {}) };
}

function inChainSteps(
  src: Source,
  target: { hop: Hop; proxy: ProxyInfo; table: Table },
  kind: 'nat' | 'mangle',
  takenBy: string,
): GuardStep[] {
  const t = target.table;
  const chain = target.hop.chain;
  const why =
    kind === 'nat'
      ? `${src.label}: the reply after the SYN-ACK is picked up mid-stream as a new conntrack entry and ${takenBy} ` +
        `redirects it to the proxy. A RETURN for TCP without SYN at the top of ${chain} exempts these pickups; ` +
        'connections started with a SYN are still redirected (nat sees only the first packet of an entry).'
      : src.proto === 'tcp'
        ? `${src.label}: the server's SYN-ACK (conntrack invalid: this router never saw the SYN) and later packets ` +
          `(new, without SYN) are taken by ${takenBy}. A return at the top of ${chain} for TCP without SYN in state ` +
          'invalid or new lets them through; a LAN host’s own connections (SYN, then established) are still proxied.'
        : `${src.label}: the UDP replies are taken by ${takenBy}. A return at the top of ${chain} for this ` +
          'host:port as source lets them through; UDP has no SYN, so only declared forwards can be exempted.';
  if (t.backend === 'nft') {
    const s = nftSource(src);
    const extra =
      kind === 'mangle' && src.proto === 'tcp'
        ? ' tcp flags & (fin|syn|rst|ack) != syn ct state { invalid, new }'
        : kind === 'nat'
          ? ' tcp flags & (fin|syn|rst|ack) != syn'
          : '';
    const text = `${s.text}${extra} counter return${COMMENT}`;
    const matches = [...s.matches];
    if (src.proto === 'tcp') matches.push(notSyn());
    if (kind === 'mangle' && src.proto === 'tcp') matches.push(ctNewOrInvalid());
    return [
      {
        backend: 'nft',
        table: `${t.family} ${t.name}`,
        chain,
        op: 'insert',
        rule: text,
        tag: GUARD_TAG,
        family: src.family,
        proxy: target.proxy.label,
        why,
        model: modelRule(text, matches, { kind: 'return' }),
      },
    ];
  }
  // iptables: one rule per source prefix.
  const subnets = src.host !== undefined ? [undefined] : (src.subnets ?? []);
  return subnets.map((subnet) => {
    const s = iptSource(src, subnet);
    const argv = [...s.argv];
    const matches = [...s.matches];
    if (src.proto === 'tcp') {
      argv.push('!', '--syn');
      matches.push(notSyn());
      if (kind === 'mangle') {
        argv.push('-m', 'conntrack', '--ctstate', 'INVALID,NEW');
        matches.push(ctNewOrInvalid());
      }
    }
    argv.push(...IPT_COMMENT, '-j', 'RETURN');
    const it = iptablesTable(t);
    return {
      backend: t.backend === 'ip6tables' ? 'ip6tables' : 'iptables',
      table: it.name,
      chain,
      op: 'insert',
      rule: argv.join(' '),
      argv,
      ...(it.variant ? { variant: it.variant } : {}),
      tag: GUARD_TAG,
      family: src.family,
      proxy: target.proxy.label,
      why,
      model: modelRule(argv.join(' '), matches, { kind: 'return' }),
    } satisfies GuardStep;
  });
}

/** A forwarded outcome whose source a proxy's chain masquerades (the reply leaves with the router's address). */
function masqueradedBy(ev: Evaluation, proxies: ProxyInfo[]): { hop: Hop; proxy: ProxyInfo } | null {
  for (const o of ev.outcomes) {
    if (o.verdict !== 'forwarded' || !o.responsible || !o.responsible.effect.startsWith('masquerade')) continue;
    const proxy = proxyOfHop(proxies, o.responsible);
    if (proxy) return { hop: o.responsible, proxy };
  }
  return null;
}

function stepKey(s: GuardStep): string {
  return `${s.backend} ${s.table} ${s.chain} ${s.op} ${s.rule}`;
}

function nativeAlternative(proxies: ProxyInfo[], input: GuardInput): string[] {
  if (!proxies.some((p) => p.name === 'openclash')) return [];
  const out: string[] = [
    "# OpenClash's own setting with the same effect (LuCI: Access Control → Lan Traffic Access List,",
    '# "try when forwarding fails on a bypass gateway"), instead of the guard:',
  ];
  const forwards = input.forwards.length > 0 ? input.forwards : [];
  for (const f of forwards) {
    out.push(...lanAcTrafficCommands({ host: f.host, port: f.port, proto: f.proto, name: f.name }));
  }
  if (forwards.length === 0)
    out.push('# (declare the forwards in the replyguard config to get one lan_ac_traffic entry per server host:port)');
  else out.push(...commitAndRestart('openclash'));
  out.push(
    "# In redir-host mode, `uci set openclash.config.common_ports='1'` also spares the replies",
    '# (it matches the destination port, which for a reply is the client’s ephemeral port) — but then',
    '# only those common ports are proxied for the LAN. Not available in fake-ip mode.',
  );
  return out;
}

export function planGuard(input: GuardInput): GuardPlan {
  const base = stripGuard(input.ruleset);
  const proxies = recognizeProxies(base);
  const packets = guardPackets(input);
  const scope = input.forwards.length > 0 ? 'forwards' : 'lan';
  const useNftNat = input.natBackend === 'nft' || (input.natBackend !== 'iptables' && base.sources.includes('nft'));
  const notes: string[] = [];
  const noted = new Set<string>();
  const note = (n: string) => {
    if (noted.has(n)) return;
    noted.add(n);
    notes.push(n);
  };
  const byName = forwardsByName(input);
  const steps: GuardStep[] = [];
  const seen = new Set<string>();
  const before = checkPackets(base, packets, input.iif);
  if (packets.length === 0) notes.push('no forward declared and no IPv4 LAN subnet known: nothing to check');
  let current = before;
  for (let round = 0; round < 4; round++) {
    let added = false;
    for (const { check, ev } of current) {
      const masq = ev && check.masqueraded !== undefined ? masqueradedBy(ev, proxies) : null;
      if (masq && useNftNat) {
        const fam: 4 | 6 = check.from.startsWith('[') ? 6 : 4;
        for (const src of sourcesFor(input, byName, fam, check.proto, check.forward))
          for (const st of snatStepsNft(src, masq.proxy, `${masq.proxy.label} (${hopText(masq.hop)})`)) {
            const k = stepKey(st);
            if (seen.has(k)) continue;
            seen.add(k);
            steps.push(st);
            added = true;
          }
      } else if (masq) {
        const n = `${check.forward} ${check.kind}: masqueraded by ${hopText(masq.hop)}; without nft there is no guard for it (turn the proxy's masquerade off, e.g. OpenClash bypass_gateway_compatible)`;
        note(n);
      }
      if (!swallowed(check) || !ev) continue;
      const outcome = ev.outcomes.find((o) => o.verdict === 'proxied');
      if (!outcome) continue;
      const fam: 4 | 6 = check.from.startsWith('[') ? 6 : 4;
      const target = chainToGuard(base, proxies, outcome.path);
      if (!target) {
        const n = `${check.forward} ${check.kind}: swallowed by ${hopText(outcome.responsible) ?? 'a rule'}, which no recognised proxy owns — not guarded (replyguard never touches chains it did not recognise)`;
        note(n);
        continue;
      }
      const inChain = outcome.how?.kind !== 'redirect' || !useNftNat;
      const { family, name } = target.table;
      if (inChain && target.table.backend === 'nft' && ![family, name, target.hop.chain].every(isNftName)) {
        const n = `${check.forward} ${check.kind}: swallowed in chain ${JSON.stringify(target.hop.chain)} of table ${JSON.stringify(`${family} ${name}`)}, whose name cannot be written into an nft script safely — not guarded`;
        note(n);
        continue;
      }
      const by = `${target.proxy.label} (${hopText(outcome.responsible) ?? target.hop.chain})`;
      const srcs = sourcesFor(input, byName, fam, check.proto, check.forward);
      const newSteps: GuardStep[] = [];
      for (const src of srcs) {
        if (outcome.how?.kind === 'redirect') {
          if (useNftNat) newSteps.push(...natStepsNft(src, target.proxy, by));
          else newSteps.push(...inChainSteps(src, target, 'nat', by));
        } else newSteps.push(...inChainSteps(src, target, 'mangle', by));
      }
      for (const s of newSteps) {
        const k = stepKey(s);
        if (seen.has(k)) continue;
        seen.add(k);
        steps.push(s);
        added = true;
      }
    }
    if (!added) break;
    current = checkPackets(simulateGuard(base, withTable(steps)), packets, input.iif);
  }
  const all = withTable(steps);
  const after = steps.length > 0 ? checkPackets(simulateGuard(base, all), packets, input.iif) : before;
  const stillSwallowed = after.filter((c) => swallowed(c.check));
  for (const c of stillSwallowed)
    notes.push(
      `${c.check.forward} ${c.check.kind} (${c.check.from} → ${c.check.to}) would still be ${c.check.masqueraded ? `masqueraded by ${c.check.masqueraded}` : `${c.check.verdict}${c.check.by ? ` by ${c.check.by}` : ''}`}`,
    );
  const synBefore = before.find((c) => c.check.kind === 'lan-syn');
  const synAfter = after.find((c) => c.check.kind === 'lan-syn');
  if (synBefore && synAfter && synBefore.check.verdict !== synAfter.check.verdict)
    notes.push(
      `a LAN host's own new connection would change from ${synBefore.check.verdict} to ${synAfter.check.verdict}`,
    );
  const swallowedBefore = before.some((c) => swallowed(c.check));
  return {
    status: all.length > 0 ? 'ok' : swallowedBefore ? 'not-applicable' : 'nothing-to-do',
    scope,
    proxies: proxies.map((p) => ({ name: p.name, label: p.label, mode: p.mode, backend: p.backend })),
    steps: all,
    before: before.map((c) => c.check),
    after: after.map((c) => c.check),
    notes,
    native: all.length > 0 ? nativeAlternative(proxies, input) : [],
  };
}

/** Prepends a create-table step for each chain of replyguard's own table that steps go into. */
function withTable(steps: GuardStep[]): GuardStep[] {
  const rest = steps.filter((s) => s.op !== 'create-table');
  const own = rest.filter((s) => s.table === `inet ${GUARD_TABLE}`);
  const chains = [GUARD_NAT_CHAIN, GUARD_SNAT_CHAIN].filter((c) => own.some((s) => s.chain === c));
  const creates: GuardStep[] = chains.map((chain) => ({
    backend: 'nft',
    table: `inet ${GUARD_TABLE}`,
    chain,
    op: 'create-table',
    rule: GUARD_CHAINS[chain]!.header,
    tag: GUARD_TAG,
    family: own[0]!.family,
    proxy: own
      .map((s) => s.proxy)
      .filter((p, i, a) => a.indexOf(p) === i)
      .join(', '),
    why:
      chain === GUARD_NAT_CHAIN
        ? "replyguard's own table, so that the guard survives the proxy flushing and rebuilding its chains; its nat " +
          'chain runs at priority dstnat - 10 (-110), before every proxy nat chain (fw4/OpenClash -100, Passwall -101, nikki -99).'
        : "replyguard's own source nat chain at priority srcnat - 10 (90), before the proxy's masquerade (srcnat, 100).",
  }));
  return [...creates, ...rest];
}

/** The plan as people read it. */
export function renderPlan(plan: GuardPlan): string {
  const lines: string[] = [];
  const proxies = plan.proxies.map((p) => `${p.label}, ${p.mode}`).join('; ') || 'none recognised';
  lines.push(`Proxy: ${proxies}`);
  lines.push(
    `Scope: ${plan.scope === 'forwards' ? 'the declared forwards (host:port as source)' : 'the LAN (no forward declared): TCP from LAN hosts to public addresses without SYN'}`,
  );
  lines.push('', 'Replies now:');
  for (const c of plan.before) lines.push(`  ${packetLine(c)}`);
  if (plan.status === 'nothing-to-do') {
    lines.push('', 'Nothing to do: no reply of a declared forward is swallowed by this router.');
  } else if (plan.steps.length === 0) {
    lines.push('', 'Not applicable: the replies are swallowed, but by nothing replyguard can guard.');
  } else {
    lines.push('', `Rules the guard adds (${plan.steps.length}), each tagged "${GUARD_TAG}":`);
    plan.steps.forEach((s, i) => {
      lines.push(`  ${i + 1}. ${stepCommand(s)}`);
      lines.push(`     why: ${s.why}`);
    });
    lines.push('', 'Replies with the guard (simulated on this ruleset):');
    for (const c of plan.after) lines.push(`  ${packetLine(c)}`);
  }
  for (const n of plan.notes) lines.push(`Note: ${n}`);
  if (plan.native.length > 0) lines.push('', ...plan.native);
  return `${lines.join('\n')}\n`;
}

function packetLine(c: PacketCheck): string {
  if (c.masqueraded) return `${packetLine({ ...c, masqueraded: undefined })}, but masqueraded by ${c.masqueraded}`;
  const what = c.kind === 'lan-syn' ? 'LAN host new connection (SYN)' : packetWord(c.kind);
  return `${c.forward}: ${what} ${c.from} → ${c.to}: ${c.verdict}${c.how ? ` (${c.how})` : ''}${c.by ? ` by ${c.by}` : ''}`;
}

/** The command one step amounts to (for people; apply runs the same through `nft -f -` / iptables argv). */
export function stepCommand(s: GuardStep): string {
  // For people to paste into a shell: every word quoted where needed (rules hold `&`, `|`, `(`, quotes).
  const table = s.table.split(' ').map(shellWord).join(' ');
  const chain = shellWord(s.chain);
  if (s.backend === 'nft') {
    if (s.op === 'create-table')
      return `nft add table ${table}; nft add chain ${table} ${chain} ${shellWord(`{ ${s.rule} }`)}`;
    return `nft ${s.op === 'insert' ? 'insert' : 'add'} rule ${table} ${chain} ${shellWord(s.rule)}`;
  }
  const bin = s.backend === 'ip6tables' ? 'ip6tables' : 'iptables';
  return `${bin}${s.variant === 'legacy' ? '-legacy' : ''} -w -t ${table} -I ${chain} 1 ${(s.argv ?? []).map(shellWord).join(' ')}`;
}
