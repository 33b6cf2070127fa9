// Which rule takes a server's replies, and what exactly to change: walks the
// server's reply packets through the ruleset snapshot (the SYN-ACK, which
// conntrack calls invalid, and the later mid-stream packets, new in the
// original direction while nf_conntrack_tcp_loose is 1; for UDP the
// datagram), names the responsible rule ({backend, table, chain, position,
// handle, text}) and writes the proxy's own fix (OpenClash lan_ac_traffic,
// Passwall ports, …) plus the generic guard for that very chain. Pure.

import { formatEndpoint, splitEndpoint } from '../net/ip-address';
import { provenNativeFixes } from '../proxies/proxy-module';
import { proxyModule } from '../proxies/registry';
import { type Evaluation, evaluatePacket, type Hop } from '../ruleset/evaluate';
import { defaultLanInterface } from '../ruleset/explain-text';
import { modelPacket, packetWord, type ReplyPacket, type TcpFlagsName } from '../ruleset/packet';
import { type ProxyInfo, proxyOfHop } from '../ruleset/recognize-proxy';
import type { RulesetSnapshot } from '../ruleset/ruleset-snapshot';
import { shellWord } from '../util/shell-quote';
import type { Finding, RuleRef } from './finding';
import { type Fix, fixTexts, orderFixes } from './fix';
import { tcpLooseFix } from './fix-text';
import { PEER_PORT } from './outside-peers';

/** What happens to the replies: swallowed by a proxy, masqueraded, dropped, passed, or unknown. */
export type ReplyFate = 'proxied' | 'masqueraded' | 'dropped' | 'undetermined' | 'passes';

export interface ReplyEvaluation {
  fate: ReplyFate;
  certain: boolean;
  packet: ReplyPacket;
  peer: string;
  peerPort: number;
  evaluation: Evaluation;
  rule: RuleRef | null;
  proxy?: ProxyInfo;
}

export interface ReplyQuery {
  proto: 'tcp' | 'udp';
  server: string;
  port: number;
  peer: string;
  peerPort: number;
  /** The LAN interface the replies come in on (default: br-lan, else the first LAN interface). */
  iif?: string;
}

export function ruleRefOfHop(hop: Hop): RuleRef {
  const ref: RuleRef = {
    backend: hop.backend,
    table: hop.table,
    chain: hop.chain,
    position: hop.position ?? null,
    text: hop.text,
  };
  if (hop.handle !== undefined) ref.handle = hop.handle;
  return ref;
}

/** The order of badness: what breaks the forward first. */
const FATE_RANK: Record<ReplyFate, number> = { proxied: 0, masqueraded: 1, dropped: 2, undetermined: 3, passes: 4 };

export function worseFate(a: ReplyFate, b: ReplyFate): boolean {
  return FATE_RANK[a] < FATE_RANK[b];
}

function fateOf(ev: Evaluation): ReplyFate {
  if (ev.verdict === 'proxied') return 'proxied';
  if (ev.verdict === 'dropped') return 'dropped';
  if (ev.verdict === 'undetermined') return 'undetermined';
  if (ev.verdict === 'forwarded' && ev.responsible?.effect.startsWith('masquerade')) return 'masqueraded';
  return 'passes';
}

/**
 * The worst fate of this reply's packets: for TCP the SYN-ACK first (TPROXY/TUN take it), then the
 * mid-stream ACK (nat REDIRECT takes it); for UDP the datagram.
 */
export function evaluateReply(
  snapshot: RulesetSnapshot,
  q: ReplyQuery,
  proxies: ProxyInfo[],
): ReplyEvaluation | string {
  const iif = q.iif ?? defaultLanInterface(snapshot);
  const tcpLoose = snapshot.ruleset.tcpLoose;
  const packets: ReplyPacket[] = q.proto === 'tcp' ? ['synack', 'ack'] : ['udp'];
  let best: ReplyEvaluation | undefined;
  for (const packet of packets) {
    const p = modelPacket(
      {
        proto: q.proto,
        src: q.server,
        sport: q.port,
        dst: q.peer,
        dport: q.peerPort,
        iif,
        localSocket: 'none',
        ...(packet === 'udp' ? {} : { flags: packet as TcpFlagsName }),
      },
      tcpLoose === undefined ? {} : { tcpLoose },
    );
    if (typeof p === 'string') return p;
    const ev = evaluatePacket(snapshot.compiled, p);
    const fate = fateOf(ev);
    if (best && !worseFate(fate, best.fate)) continue;
    const responsible = ev.responsible;
    const proxy = fate === 'passes' ? undefined : owningProxy(proxies, ev);
    best = {
      fate,
      certain: ev.certain,
      packet,
      peer: q.peer,
      peerPort: q.peerPort,
      evaluation: ev,
      rule: responsible && fate !== 'passes' ? ruleRefOfHop(responsible) : null,
      ...(proxy ? { proxy } : {}),
    };
  }
  return best!;
}

/** The proxy whose rule decided, or (TUN: the routing hop decided) whose chain the path went through. */
function owningProxy(proxies: ProxyInfo[], ev: Evaluation): ProxyInfo | undefined {
  const direct = proxyOfHop(proxies, ev.responsible);
  if (direct) return direct;
  for (let i = ev.path.length - 1; i >= 0; i--) {
    const p = proxyOfHop(proxies, ev.path[i]);
    if (p) return p;
  }
  return undefined;
}

/** The chain a guard goes into: the responsible rule's chain, else the last proxy chain on the path. */
function guardChain(r: ReplyEvaluation): { backend: string; table: string; chain: string } | undefined {
  const path = r.evaluation.path;
  const candidates = [r.evaluation.responsible, ...path.slice().reverse()];
  for (const h of candidates) {
    if (h && h.backend !== 'route' && h.text !== 'policy drop') return h;
  }
  return undefined;
}

function iptablesTable(table: string): string {
  return table.split(' ').pop() ?? table;
}

/** The proxy a fix is for: the one owning the rule (a proxy replyguard knows by name), else none. */
function fixProxy(proxy: ProxyInfo | undefined): Fix['proxy'] {
  return proxy && proxy.name !== 'unknown' ? proxy.name : 'none';
}

/** The generic guard, in the very chain that takes the replies. */
export function guardFixes(r: ReplyEvaluation, server: string, port: number, proto: 'tcp' | 'udp'): Fix[] {
  const where = guardChain(r);
  if (!where) return [];
  const v6 = server.includes(':');
  const ip = v6 ? 'ip6' : 'ip';
  const ipt = r.rule?.backend === 'ip6tables' || v6 ? 'ip6tables' : 'iptables';
  const nft = where.backend === 'nft';
  // Table and chain names come from the ruleset: quoted for the shell the line is pasted into.
  const table = where.table.split(' ').map(shellWord).join(' ');
  const chain = shellWord(where.chain);
  const nftInsert = (rule: string) => `nft insert rule ${table} ${chain} ${shellWord(rule)}`;
  const iptInsert = (spec: string) => `${ipt} -t ${iptablesTable(where.table)} -I ${chain} 1 ${spec}`;
  const how = r.evaluation.how?.kind;
  const keep =
    ' (insert it again after the proxy restarts, e.g. from its custom firewall script; OpenClash: /etc/openclash/custom/openclash_custom_firewall_rules.sh)';
  const guard = (kind: Fix['kind'], lead: string, command: string[]): Fix[] => [
    {
      kind,
      proxy: fixProxy(r.proxy),
      text: `${lead}${command.join(' ; then ')}${keep}`,
      command,
      applies: { family: v6 ? 'ipv6' : 'ipv4' },
      basis: 'ruleset',
    },
  ];
  if (proto === 'udp') {
    const rule = nft
      ? nftInsert(`${ip} saddr ${server} udp sport ${port} counter return`)
      : iptInsert(`-s ${server} -p udp --sport ${port} -j RETURN`);
    return guard('udp_guard', "Generic guard — UDP has no handshake, so exempt the forward's replies by name: ", [
      rule,
    ]);
  }
  if (r.fate === 'masqueraded') {
    const rule = nft
      ? nftInsert(`${ip} saddr ${server} tcp sport ${port} counter return`)
      : iptInsert(`-s ${server} -p tcp --sport ${port} -j RETURN`);
    return guard('masquerade_guard', "Generic guard — exempt the server's replies from the masquerade: ", [rule]);
  }
  if (how === 'redirect' || r.packet === 'ack') {
    const rule = nft
      ? nftInsert('tcp flags & (fin|syn|rst|ack) != syn counter return')
      : iptInsert('-p tcp ! --syn -j RETURN');
    return guard(
      'nat_guard',
      'Generic guard — exempt packets picked up mid-stream (TCP without SYN); proxied connections start with a SYN and stay proxied: ',
      [rule],
    );
  }
  // TPROXY / TUN: the SYN-ACK itself (ct state invalid) is taken in a mangle chain.
  const rules = nft
    ? [
        nftInsert('meta l4proto tcp ct state new tcp flags & (fin|syn|rst|ack) != syn counter return'),
        nftInsert('ct state invalid counter return'),
      ]
    : [
        `${ipt} -t ${iptablesTable(where.table)} -I ${chain} 1 -p tcp -m conntrack --ctstate NEW ! --syn -j RETURN`,
        `${ipt} -t ${iptablesTable(where.table)} -I ${chain} 1 -m conntrack --ctstate INVALID -j RETURN`,
      ];
  return guard(
    'mangle_guard',
    "Generic guard — return packets conntrack calls invalid (a SYN-ACK whose SYN this router never saw) and new TCP without SYN at the top of the chain, before the proxy's rule: ",
    rules,
  );
}

/** The proxy's own setting or access-list entry that exempts this server's replies (its module says which). */
export function proxyFixes(
  proxy: ProxyInfo | undefined,
  r: ReplyEvaluation,
  server: string,
  port: number,
  proto: 'tcp' | 'udp',
  forwardName?: string,
): Fix[] {
  if (!proxy) return [];
  const m = proxyModule(proxy.name);
  if (!m) return [];
  return provenNativeFixes(m, {
    server,
    port,
    proto,
    ...(forwardName ? { forward: forwardName } : {}),
    label: proxy.label,
    features: proxy.features,
    redirected: r.evaluation.how?.kind === 'redirect',
    masqueraded: r.fate === 'masqueraded',
  });
}

/** Fixes for a server's replies from the ruleset alone: the proxy's own option, the guard, the sysctl, the gateway. */
export function replyFixes(
  r: ReplyEvaluation,
  server: string,
  port: number,
  proto: 'tcp' | 'udp',
  forward?: string,
): Fix[] {
  const fixes = [...proxyFixes(r.proxy, r, server, port, proto, forward), ...guardFixes(r, server, port, proto)];
  if (proto === 'tcp' && (r.evaluation.how?.kind === 'redirect' || r.fate === 'masqueraded'))
    fixes.push(tcpLooseFix('ruleset'));
  fixes.push({
    kind: 'gateway',
    proxy: 'none',
    text: `Or remove the asymmetry: give ${server} the main router as its default gateway.`,
    basis: 'ruleset',
  });
  return orderFixes(fixes);
}

export type AttributedFinding = Finding;

/** What attribution adds to a finding: the rule, the proxy, one evidence line, the proxy's own fix and the guard. */
export interface Attribution {
  rule: RuleRef;
  proxy?: string;
  evidence: string;
  /** The proxy's own option or access-list entry, then the generic guard in the very chain that takes the replies. */
  proxyFix: Fix[];
}

/**
 * Why the replies of an observed reply_hijacked finding are taken: its server's reply to the newest
 * peer walked through the snapshot. Null for other kinds, and for replies the snapshot lets pass
 * (the ruleset changed since).
 */
export function attributionFor(
  f: Finding,
  snapshot: RulesetSnapshot,
  proxies: ProxyInfo[],
  opts: { iif?: string; fallbackPeer?: string } = {},
): Attribution | null {
  if (f.kind !== 'reply_hijacked') return null;
  const ep = splitEndpoint(f.server);
  if (!ep) return null;
  const peer = f.peers[0] ?? opts.fallbackPeer;
  if (!peer) return null;
  const r = evaluateReply(
    snapshot,
    {
      proto: f.proto,
      server: ep.ip,
      port: ep.port,
      peer,
      peerPort: PEER_PORT,
      ...(opts.iif ? { iif: opts.iif } : {}),
    },
    proxies,
  );
  if (typeof r === 'string' || r.fate === 'passes' || !r.rule) return null;
  const where = `${r.rule.backend === 'route' ? 'routing' : `${r.rule.backend} ${r.rule.table} ${r.rule.chain} #${r.rule.position ?? '?'}`}`;
  const by = r.proxy ? ` (${r.proxy.label})` : '';
  return {
    rule: r.rule,
    ...(r.proxy ? { proxy: r.proxy.label } : {}),
    evidence: `ruleset: the ${packetWord(r.packet)} to ${formatEndpoint(peer, undefined)} is ${fateWord(r)} by ${where}${by}: ${r.rule.text}`,
    proxyFix: [
      ...proxyFixes(r.proxy, r, ep.ip, ep.port, f.proto, f.forward),
      ...guardFixes(r, ep.ip, ep.port, f.proto),
    ],
  };
}

/**
 * The finding with the attribution applied: `rule`, `proxy`, the evidence line second, `typed_fixes` (the
 * proxy's own fix and the guard for the exact chain merged with the detector's, in the one order) with its
 * text in `fixes`, and `proxy_fix` (the attribution's lines minus a command the detector's fix already gives,
 * for readers of older versions). `fix` stays the detector's, so that live and offline (analyze) findings agree.
 */
export function applyAttribution(f: Finding, a: Attribution | null): AttributedFinding {
  if (!a) return f;
  const detector = f.typed_fixes ?? [];
  const given = new Set(detector.flatMap((x) => x.command ?? []));
  const proxyFix = a.proxyFix.filter((x) => !(x.command ?? []).some((c) => given.has(c)));
  const typed = orderFixes([...a.proxyFix, ...detector], { proxyKnown: a.proxy !== undefined });
  return {
    ...f,
    rule: a.rule,
    ...(a.proxy ? { proxy: a.proxy } : {}),
    proxy_fix: fixTexts(proxyFix),
    typed_fixes: typed,
    fixes: fixTexts(typed),
    evidence: [f.evidence[0] ?? f.summary, a.evidence, ...f.evidence.slice(1)],
  };
}

/** attributionFor + applyAttribution. */
export function attributeFinding(
  f: Finding,
  snapshot: RulesetSnapshot,
  proxies: ProxyInfo[],
  opts: { iif?: string; fallbackPeer?: string } = {},
): AttributedFinding {
  return applyAttribution(f, attributionFor(f, snapshot, proxies, opts));
}

export function fateWord(r: ReplyEvaluation): string {
  const how = r.evaluation.how;
  const maybe = r.certain ? '' : 'possibly ';
  switch (r.fate) {
    case 'proxied':
      return `${maybe}taken (${how?.kind === 'redirect' ? `redirect to :${how.port}` : how?.kind === 'tproxy' ? `tproxy to :${how.port}` : how?.kind === 'tun' ? `routed into ${how.device}` : 'proxied'})`;
    case 'masqueraded':
      return `${maybe}masqueraded`;
    case 'dropped':
      return `${maybe}dropped`;
    case 'undetermined':
      return 'possibly taken (undetermined)';
    default:
      return 'forwarded unchanged';
  }
}
