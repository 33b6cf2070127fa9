// Which rule takes a server's replies, and what exactly to change: walks the
// server's reply packets through the ruleset snapshot (the SYN-ACK, which
// conntrack calls invalid, and the later mid-stream packets, new in the
// original direction while nf_conntrack_tcp_loose is 1; for UDP the
// datagram), names the responsible rule ({backend, table, chain, position,
// handle, text}) and writes the proxy's own fix (OpenClash lan_ac_traffic,
// Passwall ports, …) plus the generic guard for that very chain. Pure.

import { formatEndpoint } from '../net/ip-address';
import { proxyModule } from '../proxies/registry';
import { type Evaluation, evaluatePacket, type Hop } from '../ruleset/evaluate';
import { defaultLanInterface } from '../ruleset/explain-text';
import { modelPacket, type TcpFlagsName } from '../ruleset/packet';
import { type ProxyInfo, proxyOfHop } from '../ruleset/recognize-proxy';
import type { RulesetSnapshot } from '../ruleset/ruleset-snapshot';
import { shellWord } from '../util/shell-quote';
import type { Finding } from './finding';
import { fixKind } from './fix-text';

/** The rule that takes the replies, as status.json shows it. */
export interface RuleRef {
  /** nft | iptables | ip6tables | route */
  backend: string;
  /** "inet fw4", "ip nat" */
  table: string;
  chain: string;
  position: number | null;
  handle?: number;
  text: string;
}

/** The packet of a reply that was walked: a TCP SYN-ACK, a mid-stream TCP ACK, or a UDP datagram. */
export type ReplyPacket = 'synack' | 'ack' | 'udp';

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

/** The generic guard, in the very chain that takes the replies. */
export function guardLines(r: ReplyEvaluation, server: string, port: number, proto: 'tcp' | 'udp'): string[] {
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
  if (proto === 'udp') {
    const rule = nft
      ? nftInsert(`${ip} saddr ${server} udp sport ${port} counter return`)
      : iptInsert(`-s ${server} -p udp --sport ${port} -j RETURN`);
    return [`Generic guard — UDP has no handshake, so exempt the forward's replies by name: ${rule}${keep}`];
  }
  if (r.fate === 'masqueraded') {
    const rule = nft
      ? nftInsert(`${ip} saddr ${server} tcp sport ${port} counter return`)
      : iptInsert(`-s ${server} -p tcp --sport ${port} -j RETURN`);
    return [`Generic guard — exempt the server's replies from the masquerade: ${rule}${keep}`];
  }
  if (how === 'redirect' || r.packet === 'ack') {
    const rule = nft
      ? nftInsert('tcp flags & (fin|syn|rst|ack) != syn counter return')
      : iptInsert('-p tcp ! --syn -j RETURN');
    return [
      `Generic guard — exempt packets picked up mid-stream (TCP without SYN); proxied connections start with a SYN and stay proxied: ${rule}${keep}`,
    ];
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
  return [
    `Generic guard — return packets conntrack calls invalid (a SYN-ACK whose SYN this router never saw) and new TCP without SYN at the top of the chain, before the proxy's rule: ${rules.join(' ; then ')}${keep}`,
  ];
}

/** The proxy's own setting or access-list entry that exempts this server's replies (its module says which). */
export function proxyFixLines(
  proxy: ProxyInfo | undefined,
  r: ReplyEvaluation,
  server: string,
  port: number,
  proto: 'tcp' | 'udp',
  forwardName?: string,
): string[] {
  if (!proxy) return [];
  const m = proxyModule(proxy.name);
  if (!m) return [];
  return m.nativeFixes({
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

/** Fix lines for a server's replies: the proxy's own option first, then the generic guard, then the sysctl. */
export function replyFixLines(
  r: ReplyEvaluation,
  server: string,
  port: number,
  proto: 'tcp' | 'udp',
  forward?: string,
) {
  const lines = [...proxyFixLines(r.proxy, r, server, port, proto, forward), ...guardLines(r, server, port, proto)];
  if (proto === 'tcp' && (r.evaluation.how?.kind === 'redirect' || r.fate === 'masqueraded')) {
    lines.push(
      'Or stop conntrack from picking up mid-stream TCP: sysctl -w net.netfilter.nf_conntrack_tcp_loose=0 ' +
        '(fixes REDIRECT and masquerade modes; long-lived connections do not survive a conntrack flush then).',
    );
  }
  lines.push(`Or remove the asymmetry: give ${server} the main router as its default gateway.`);
  return lines;
}

/** "192.168.1.10:443" / "[fd00::1]:443" → parts. */
export function splitEndpoint(text: string): { ip: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  return m ? { ip: m[1]!, port: Number(m[2]) } : null;
}

export type AttributedFinding = Finding & {
  rule?: RuleRef | null;
  proxy?: string;
  proxy_fix?: string[];
  /** What to show people, in order: the proxy's own fix and the exact guard, then the generic lines still useful. */
  fixes?: string[];
};

/** What attribution adds to a finding: the rule, the proxy, one evidence line, the proxy's own fix and the guard. */
export interface Attribution {
  rule: RuleRef;
  proxy?: string;
  evidence: string;
  /** The proxy's own option or access-list entry, then the generic guard in the very chain that takes the replies. */
  proxyFix: string[];
  /** proxyFix holds the guard for the exact chain (the detector's guessed-chain guard is then redundant). */
  exactGuard: boolean;
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
      peerPort: 40000,
      ...(opts.iif ? { iif: opts.iif } : {}),
    },
    proxies,
  );
  if (typeof r === 'string' || r.fate === 'passes' || !r.rule) return null;
  const where = `${r.rule.backend === 'route' ? 'routing' : `${r.rule.backend} ${r.rule.table} ${r.rule.chain} #${r.rule.position ?? '?'}`}`;
  const guard = guardLines(r, ep.ip, ep.port, f.proto);
  const by = r.proxy ? ` (${r.proxy.label})` : '';
  return {
    rule: r.rule,
    ...(r.proxy ? { proxy: r.proxy.label } : {}),
    evidence: `ruleset: the ${packetWord(r.packet)} to ${formatEndpoint(peer, undefined)} is ${fateWord(r)} by ${where}${by}: ${r.rule.text}`,
    proxyFix: [...proxyFixLines(r.proxy, r, ep.ip, ep.port, f.proto, f.forward), ...guard],
    exactGuard: guard.length > 0,
  };
}

/** The nft/iptables command a fix line quotes, to see whether two lines propose the same rule. */
function commandOf(line: string): string | undefined {
  return /(nft insert rule \S+ \S+ \S+ '[^']*'|ip6?tables -t \S+ -I \S+ 1 [^()]*?-j RETURN)/.exec(line)?.[1];
}

/**
 * The finding with the attribution applied: `rule`, `proxy`, the evidence line second and `proxy_fix`
 * (the proxy's own fix and the guard for the exact chain, minus a guard the detector's first fix line
 * already gives). `fix` stays the detector's, so that live and offline (analyze) findings agree.
 */
export function applyAttribution(f: Finding, a: Attribution | null): AttributedFinding {
  if (!a) return f;
  const given = new Set(f.fix.map(commandOf).filter((c): c is string => c !== undefined));
  const proxyFix = a.proxyFix.filter((l) => {
    const c = commandOf(l);
    return c === undefined || !given.has(c);
  });
  // The detector's generic lines the ruleset made exact: its guess of the chain, and OpenClash's
  // access list by hand when the proxy is known (its own lines, or another proxy altogether).
  const stillUseful = f.fix.filter((l) => {
    const kind = fixKind(l);
    if (a.exactGuard && (kind === 'natGuard' || kind === 'mangleGuard' || kind === 'udpGuard')) return false;
    return !(a.proxy && kind === 'proxySetting');
  });
  return {
    ...f,
    rule: a.rule,
    ...(a.proxy ? { proxy: a.proxy } : {}),
    proxy_fix: proxyFix,
    fixes: [...a.proxyFix, ...stillUseful],
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

export function packetWord(p: ReplyPacket): string {
  return p === 'synack' ? 'SYN-ACK' : p === 'ack' ? 'mid-stream ACK' : 'UDP reply';
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
