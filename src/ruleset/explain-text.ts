// `explain`: one packet through one snapshot → a report (the JSON shape of
// `replyguard explain --json`) and its human rendering. Pure.

import { formatEndpoint } from '../net/ip-address';
import { type Evaluation, evaluatePacket, type Hop, type ProxyHow } from './evaluate';
import { modelPacket, type PacketSpec, type TcpFlagsName } from './packet';
import { type ProxyInfo, proxyOfHop, recognizeProxies } from './recognize-proxy';
import type { RulesetSnapshot } from './ruleset-snapshot';

export interface ExplainRequest {
  proto: 'tcp' | 'udp';
  src: string;
  sport: number;
  dst: string;
  dport: number;
  iif?: string;
  /** Undefined: the packet that breaks first (a SYN-ACK if the proxy takes it, else a mid-stream ACK). */
  flags?: TcpFlagsName;
}

export interface ExplainHop {
  backend: string;
  table: string;
  chain: string;
  position: number | null;
  handle: number | null;
  text: string;
  effect: string;
  certain: boolean;
}

export interface ExplainReport {
  verdict: Evaluation['verdict'];
  certain: boolean;
  how: ProxyHow | null;
  proxy: { name: string; label: string; mode: string } | null;
  packet: {
    proto: string;
    from: string;
    to: string;
    in: string;
    flags: string | null;
    ct_state: string;
    ct_reason: string;
  };
  path: ExplainHop[];
  responsible: ExplainHop | null;
  reasons: string[];
  alternatives: { verdict: string; how: ProxyHow | null }[];
  notes: string[];
  proxies: ProxyInfo[];
  issues: string[];
  fingerprint: string;
}

/** br-lan if present, else the first interface with a private IPv4 address, else br-lan. */
export function defaultLanInterface(snapshot: RulesetSnapshot): string {
  const r = snapshot.ruleset.routing;
  if (r.interfaces.includes('br-lan')) return 'br-lan';
  const lan = r.addresses.find(
    (a) => a.family === 4 && a.ifname !== 'lo' && /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(a.address),
  );
  return lan?.ifname ?? 'br-lan';
}

function hopOut(h: Hop): ExplainHop {
  return {
    backend: h.backend,
    table: h.table,
    chain: h.chain,
    position: h.position ?? null,
    handle: h.handle ?? null,
    text: h.text,
    effect: h.effect,
    certain: h.certain,
  };
}

export function explainPacket(
  snapshot: RulesetSnapshot,
  req: ExplainRequest,
  proxies?: ProxyInfo[],
): ExplainReport | string {
  const iif = req.iif ?? defaultLanInterface(snapshot);
  const tcpLoose = snapshot.ruleset.tcpLoose;
  const run = (flags: TcpFlagsName | undefined): { ev: Evaluation; spec: PacketSpec } | string => {
    // A hypothetical packet of a flow the router does not terminate: no local socket holds it yet.
    const spec: PacketSpec = {
      proto: req.proto,
      src: req.src,
      dst: req.dst,
      sport: req.sport,
      dport: req.dport,
      iif,
      localSocket: 'none',
    };
    if (flags) spec.flags = flags;
    const p = modelPacket(spec, tcpLoose === undefined ? {} : { tcpLoose });
    if (typeof p === 'string') return p;
    return { ev: evaluatePacket(snapshot.compiled, p), spec };
  };
  let chosen: { ev: Evaluation; spec: PacketSpec } | string;
  if (req.proto === 'tcp' && req.flags === undefined) {
    // The packet that breaks first: a SYN-ACK caught by TPROXY/TUN, else the mid-stream ACK.
    const synack = run('synack');
    chosen =
      typeof synack !== 'string' && (synack.ev.verdict === 'proxied' || synack.ev.verdict === 'dropped')
        ? synack
        : run('ack');
  } else chosen = run(req.flags);
  if (typeof chosen === 'string') return chosen;
  const { ev, spec } = chosen;
  const all = proxies ?? recognizeProxies(snapshot.ruleset);
  const owner = ev.verdict === 'proxied' || ev.verdict === 'dropped' ? proxyOfHop(all, ev.responsible) : undefined;
  return {
    verdict: ev.verdict,
    certain: ev.certain,
    how: ev.how ?? null,
    proxy: owner ? { name: owner.name, label: owner.label, mode: owner.mode } : null,
    packet: {
      proto: req.proto,
      from: formatEndpoint(req.src, req.sport),
      to: formatEndpoint(req.dst, req.dport),
      in: iif,
      flags: req.proto === 'tcp' ? (spec.flags ?? 'ack') : null,
      ct_state: ev.ctState,
      ct_reason: ev.ctReason,
    },
    path: ev.path.map(hopOut),
    responsible: ev.responsible ? hopOut(ev.responsible) : null,
    reasons: ev.reasons,
    alternatives: ev.outcomes.slice(1).map((o) => ({ verdict: o.verdict, how: o.how ?? null })),
    notes: ev.notes,
    proxies: all,
    issues: snapshot.ruleset.issues.map((i) => `${i.severity}: ${i.source}: ${i.message}`),
    fingerprint: snapshot.fingerprint,
  };
}

function howText(how: ProxyHow | null): string {
  if (!how) return '';
  if (how.kind === 'redirect') return ` via redirect to port ${how.port}`;
  if (how.kind === 'tproxy')
    return ` via tproxy to port ${how.port}${how.table ? ` (mark ${how.mark !== undefined ? `0x${how.mark.toString(16)}` : '?'} → table ${how.table})` : ''}`;
  return ` via tun device ${how.device}${how.table ? ` (mark 0x${(how.mark ?? 0).toString(16)} → table ${how.table})` : ''}`;
}

export function renderExplain(r: ExplainReport): string {
  const out: string[] = [];
  const p = r.packet;
  out.push(`${p.proto.toUpperCase()} ${p.from} → ${p.to}, in ${p.in}${p.flags ? `, ${p.flags.toUpperCase()}` : ''}`);
  out.push(`  conntrack: ${p.ct_state} — ${p.ct_reason}`);
  out.push('');
  if (r.path.length === 0) out.push('  (no rule matched)');
  for (const h of r.path) {
    const where =
      h.backend === 'route'
        ? 'routing'
        : `${h.backend} ${h.table} ${h.chain} #${h.position ?? '?'}${h.handle !== null ? ` (handle ${h.handle})` : ''}`;
    out.push(`  ${h.certain ? '' : '? '}${where}`);
    out.push(`      ${h.text}`);
    out.push(`      → ${h.effect}`);
  }
  out.push('');
  const verdict = `${r.certain ? '' : 'possibly '}${r.verdict.toUpperCase()}${howText(r.how)}`;
  out.push(`Verdict: ${verdict}${r.proxy ? ` — by ${r.proxy.label}, mode ${r.proxy.mode}` : ''}`);
  if (r.responsible && r.responsible.backend !== 'route') {
    out.push(
      `Responsible rule: ${r.responsible.table} ${r.responsible.chain} #${r.responsible.position ?? '?'}: ${r.responsible.text}`,
    );
  } else if (r.responsible) out.push(`Responsible: ${r.responsible.text}`);
  if (!r.certain) {
    out.push('Not certain because:');
    for (const why of r.reasons.length > 0 ? r.reasons : ['some matches could not be decided']) out.push(`  - ${why}`);
    for (const a of r.alternatives) out.push(`  otherwise: ${a.verdict}${howText(a.how)}`);
  }
  for (const n of r.notes) out.push(`Note: ${n}`);
  if (r.proxies.length > 0) {
    out.push('');
    out.push('Proxies found:');
    for (const x of r.proxies) {
      const ports = [
        x.redirectPorts.length ? `redirect :${x.redirectPorts.join(',:')}` : '',
        x.tproxyPorts.length ? `tproxy :${x.tproxyPorts.join(',:')}` : '',
        x.routes.length
          ? x.routes
              .map((rt) => `mark ${rt.mark} → table ${rt.table} (${rt.kind === 'tun' ? `dev ${rt.device}` : rt.kind})`)
              .join(', ')
          : '',
      ]
        .filter(Boolean)
        .join('; ');
      out.push(
        `  ${x.label} [${x.backend}], ${x.mode}${ports ? `: ${ports}` : ''}${x.features.length ? ` (${x.features.join(', ')})` : ''}`,
      );
    }
  }
  const serious = r.issues.filter((i) => i.startsWith('error'));
  if (serious.length > 0 || r.issues.length > 0) {
    out.push('');
    out.push(`Loader messages (${r.issues.length}):`);
    for (const i of r.issues.slice(0, 8)) out.push(`  ${i}`);
    if (r.issues.length > 8) out.push(`  … ${r.issues.length - 8} more (--json shows all)`);
  }
  return `${out.join('\n')}\n`;
}
