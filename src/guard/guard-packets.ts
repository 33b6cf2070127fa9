// The packets a guard plan is checked with — each forward's replies (SYN-ACK
// and mid-stream ACK, or a UDP datagram) to an outside peer, and a LAN host's
// own new connection — and what the evaluator says about them on a ruleset
// model: proxied, masqueraded or forwarded. Pure.

import type { ForwardConfig } from '../config/config';
import { PEER_PORT, PUBLIC_PEERS } from '../detector/outside-peers';
import { formatEndpoint, parsePrefix, splitEndpoint } from '../net/ip-address';
import { compileRuleset, type Evaluation, evaluatePacket, type Hop } from '../ruleset/evaluate';
import type { Ruleset } from '../ruleset/model';
import { modelPacket, type PacketSpec, type ReplyPacket } from '../ruleset/packet';
import { type ProxyInfo, proxyOfHop, recognizeProxies } from '../ruleset/recognize-proxy';

/**
 * An outside peer for the hypothetical replies. IPv6: a public address (diagnose's first peer), not a
 * documentation one: OpenClash's localnetwork6 (and other proxies' reserved sets) hold 2001:db8::/32, so
 * the proxy's chain returns replies to 2001:db8::/32 early and a plan walked towards it would find
 * nothing to guard — measured in the lab (test/integration/guard-ipv6.test.ts).
 */
const PEER = { 4: PUBLIC_PEERS[4][0]!, 6: PUBLIC_PEERS[6][0]! } as const;

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

function representativeHost(subnet: string): string | null {
  const p = parsePrefix(subnet);
  if (p?.family !== 4 || Number(p.text.split('/')[1]) > 28) return null;
  const base = p.text.split('/')[0]!.split('.').map(Number);
  base[3] = (base[3]! + 10) & 0xff;
  return base.join('.');
}

export function guardPackets(input: {
  forwards: readonly ForwardConfig[];
  lanSubnets: readonly string[];
}): GuardPacket[] {
  const out: GuardPacket[] = [];
  const add = (forward: string, host: string, port: number, proto: 'tcp' | 'udp') => {
    const peer = formatEndpoint(PEER[host.includes(':') ? 6 : 4], PEER_PORT);
    const from = formatEndpoint(host, port);
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
    const host = endpoint(first.from).ip;
    out.push({
      forward: first.forward,
      proto: 'tcp',
      kind: 'lan-syn',
      from: formatEndpoint(host, PEER_PORT + 1),
      to: formatEndpoint(PEER[host.includes(':') ? 6 : 4], 443),
    });
  }
  return out;
}

function endpoint(text: string): { ip: string; port: number } {
  return splitEndpoint(text) ?? { ip: text, port: 0 };
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

export function hopText(h: Hop | undefined): string | undefined {
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

/** A forwarded outcome whose source a proxy's chain masquerades (the reply leaves with the router's address). */
export function masqueradedBy(ev: Evaluation, proxies: ProxyInfo[]): { hop: Hop; proxy: ProxyInfo } | null {
  for (const o of ev.outcomes) {
    if (o.verdict !== 'forwarded' || !o.responsible || !o.responsible.effect.startsWith('masquerade')) continue;
    const proxy = proxyOfHop(proxies, o.responsible);
    if (proxy) return { hop: o.responsible, proxy };
  }
  return null;
}
