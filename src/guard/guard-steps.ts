// The rules one guard step adds, for one source (a forward's host:port or the
// LAN): the rule as the tool takes it (nft text / iptables argv) and as the
// ruleset model holds it, so that a plan can be checked on the model before
// anything touches the kernel. Pure.
//  - nat REDIRECT (the mid-stream pickup is redirected): an identity NAT
//    binding (`dnat ip to ip daddr`) in replyguard's own table at priority
//    dstnat - 10, which ends the nat chains for that conntrack entry — the
//    proxy's chains are not touched and a proxy restart cannot flush it.
//    Without nft (fw3 only): `RETURN` at the top of the proxy's nat chain.
//  - masquerade by a proxy's chain: the same identity binding for the source
//    (`snat ip to ip saddr`) at priority srcnat - 10.
//  - TPROXY / TUN (the SYN-ACK itself is taken in mangle): `return` at the top
//    of the proxy's chain that the packet enters, for TCP without SYN in
//    conntrack state invalid or new, and for the declared UDP forwards.

import { NON_PUBLIC_V4, NON_PUBLIC_V6 } from '../net/ip-address';
import type { Hop } from '../ruleset/evaluate';
import type { Key, Match, Op, Rule, Table, Value } from '../ruleset/model';
import { CT_STATE_BITS, L4PROTO, NFPROTO, TCP_FLAG_BITS } from '../ruleset/packet';
import type { ProxyInfo } from '../ruleset/recognize-proxy';
import { scalarValue } from '../ruleset/symbols';
import { GUARD_CHAINS, GUARD_NAT_CHAIN, GUARD_SNAT_CHAIN, GUARD_TABLE, GUARD_TAG } from './guard-table';

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

/** Who a guard rule is for: one forward's host:port, or the whole LAN towards public addresses. */
export interface GuardSource {
  family: 4 | 6;
  proto: 'tcp' | 'udp';
  /** host:port of a declared forward. */
  host?: string;
  port?: number;
  /** LAN prefixes (lan scope). */
  subnets?: string[];
  label: string;
}

/** The proxy chain a reply is swallowed in, and the table that holds it. */
export interface GuardTarget {
  hop: Hop;
  proxy: ProxyInfo;
  table: Table;
}

// ---------------------------------------------------------------------------
// Model helpers

const num = (n: number): Value => ({ kind: 'num', n });
const TCP_FLAGS_MASK = TCP_FLAG_BITS.fin! | TCP_FLAG_BITS.syn! | TCP_FLAG_BITS.rst! | TCP_FLAG_BITS.ack!;

function addrValue(text: string): Value | null {
  return scalarValue(text, 'addr');
}

function setOf(values: readonly string[]): Value {
  return { kind: 'set', elements: values.map(addrValue).filter((v): v is Value => v !== null) };
}

function payload(proto: string, field: string): Key {
  return { kind: 'payload', proto, field };
}

function cmp(key: Key, op: '==' | '!=' | 'in', value: Value): Match {
  return { kind: 'cmp', key, op, value };
}

const notSyn = (): Match =>
  cmp(
    { kind: 'binop', op: '&', left: payload('tcp', 'flags'), right: num(TCP_FLAGS_MASK) },
    '!=',
    num(TCP_FLAG_BITS.syn!),
  );
const ctNewOrInvalid = (): Match =>
  cmp({ kind: 'ct', key: 'state' }, 'in', num(CT_STATE_BITS.new! | CT_STATE_BITS.invalid!));
const l4 = (p: 'tcp' | 'udp'): Match => cmp({ kind: 'meta', key: 'l4proto' }, '==', num(L4PROTO[p]!));
const nfproto = (family: 4 | 6): Match => cmp({ kind: 'meta', key: 'nfproto' }, '==', num(NFPROTO[`ipv${family}`]!));

function nftSource(s: GuardSource): { text: string; matches: Match[] } {
  const ip = s.family === 4 ? 'ip' : 'ip6';
  const nonPublic = s.family === 4 ? NON_PUBLIC_V4 : NON_PUBLIC_V6;
  const parts: string[] = [];
  const matches: Match[] = [];
  if (s.host !== undefined && s.port !== undefined) {
    parts.push(`${ip} saddr ${s.host}`, `${s.proto} sport ${s.port}`);
    matches.push(
      cmp(payload(ip, 'saddr'), '==', addrValue(s.host)!),
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

function iptSource(s: GuardSource, subnet?: string): { argv: string[]; matches: Match[] } {
  const ip = s.family === 4 ? 'ip' : 'ip6';
  if (s.host !== undefined && s.port !== undefined)
    return {
      argv: ['-s', s.host, '-p', s.proto, '--sport', String(s.port)],
      matches: [cmp(payload(ip, 'saddr'), '==', addrValue(s.host)!), cmp(payload(s.proto, 'sport'), '==', num(s.port))],
    };
  return {
    argv: ['-s', subnet!, '-p', s.proto],
    matches: [cmp(payload(ip, 'saddr'), '==', addrValue(subnet!)!), l4(s.proto)],
  };
}

const COMMENT = ` comment "${GUARD_TAG}"`;
const IPT_COMMENT = ['-m', 'comment', '--comment', GUARD_TAG];

function modelRule(text: string, matches: Match[], verdict: Op): Rule {
  return { position: 0, text, comment: GUARD_TAG, matches, ops: [{ kind: 'counter' }, verdict] };
}

/** One rule in replyguard's own nft table: the nat and snat guards differ only in chain, text and why. */
function ownTableStep(
  src: GuardSource,
  proxy: ProxyInfo,
  chain: string,
  text: string,
  why: string,
  model: Rule,
): GuardStep {
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

export function natStepsNft(src: GuardSource, proxy: ProxyInfo, redirectBy: string): GuardStep[] {
  const ip = src.family === 4 ? 'ip' : 'ip6';
  const s = nftSource(src);
  const text = `meta nfproto ipv${src.family} ${s.text} tcp flags & (fin|syn|rst|ack) != syn counter dnat ${ip} to ${ip} daddr${COMMENT}`;
  const why =
    `${src.label}: the reply after the SYN-ACK is picked up mid-stream as a new conntrack entry and ` +
    `${redirectBy} redirects it to the proxy, which resets the connection. An identity NAT binding ` +
    `(destination unchanged) before every nat chain of the proxy ends the nat chains for exactly these ` +
    `entries; the proxy's own chains stay untouched, connections a LAN host starts (with a SYN) are ` +
    'still redirected.';
  const matches = [nfproto(src.family), ...s.matches, notSyn()];
  return [ownTableStep(src, proxy, GUARD_NAT_CHAIN, text, why, modelRule(text, matches, { kind: 'dnat' }))];
}

export function snatStepsNft(src: GuardSource, proxy: ProxyInfo, masqueradeBy: string): GuardStep[] {
  const ip = src.family === 4 ? 'ip' : 'ip6';
  const s = nftSource(src);
  const tcp = src.proto === 'tcp' ? ' tcp flags & (fin|syn|rst|ack) != syn' : '';
  const text = `meta nfproto ipv${src.family} ${s.text}${tcp} counter snat ${ip} to ${ip} saddr${COMMENT}`;
  const matches = [nfproto(src.family), ...s.matches];
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

export function inChainSteps(
  src: GuardSource,
  target: GuardTarget,
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

/** Prepends a create-table step for each chain of replyguard's own table that steps go into. */
export function withTable(steps: GuardStep[]): GuardStep[] {
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
