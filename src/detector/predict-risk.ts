// Prediction: before any outside client has failed, would this router swallow
// the replies of a declared forward or of a server learned from traffic?
// Each server's reply to a couple of public-looking peers is walked through
// the live ruleset (rule-attribution.ts); the worst outcome becomes a
// `reply_at_risk` finding (severity warning) naming the responsible rule and
// the fix. Pure: the snapshot, the forwards and the time come in.

import type { ForwardConfig } from '../config/config';
import { formatEndpoint } from '../net/ip-address';
import { packetWord, type ReplyPacket } from '../ruleset/packet';
import type { ProxyInfo } from '../ruleset/recognize-proxy';
import type { RulesetSnapshot } from '../ruleset/ruleset-snapshot';
import type { Finding, RuleRef } from './finding';
import { fixTexts } from './fix';
import type { LanView } from './lan-view';
import { PEER_PORT, PUBLIC_PEERS } from './outside-peers';
import { evaluateReply, fateWord, type ReplyEvaluation, replyFixes, worseFate } from './rule-attribution';

export interface RiskFinding extends Omit<Finding, 'kind' | 'severity' | 'state'> {
  kind: 'reply_at_risk';
  severity: 'warning';
  state: 'active';
  /** The rule that would take the replies. */
  rule: RuleRef | null;
  /** The proxy that owns it ("OpenClash (fw4)"). */
  proxy?: string;
  /** false: a match could not be decided ("possibly"). */
  certain: boolean;
  /** The reply packet that breaks first. */
  packet: ReplyPacket;
}

export interface ServerRef {
  ip: string;
  port: number;
  proto: 'tcp' | 'udp';
}

export interface PredictInput {
  snapshot: RulesetSnapshot;
  proxies: ProxyInfo[];
  forwards: readonly ForwardConfig[];
  /** Servers learned from traffic (asymmetric replies seen), beyond the declared forwards. */
  servers?: readonly ServerRef[];
  /** Learned servers outside the LAN, or the router's own addresses, are left out. */
  lan?: LanView;
  /** The LAN interface replies come in on (default: br-lan, else the first LAN interface of the snapshot). */
  iif?: string;
  now: number;
}

export function riskId(s: ServerRef): string {
  return `risk-${s.proto}-${s.ip}-${s.port}`;
}

/** The worst fate of a server's replies over the representative peers. */
export function worstReply(
  snapshot: RulesetSnapshot,
  proxies: ProxyInfo[],
  s: ServerRef,
  iif?: string,
): ReplyEvaluation | undefined {
  const fam = s.ip.includes(':') ? 6 : 4;
  let worst: ReplyEvaluation | undefined;
  for (const peer of PUBLIC_PEERS[fam]) {
    const r = evaluateReply(
      snapshot,
      { proto: s.proto, server: s.ip, port: s.port, peer, peerPort: PEER_PORT, ...(iif ? { iif } : {}) },
      proxies,
    );
    if (typeof r === 'string') continue;
    // Among equals the first (certain before possible is not ranked: the first peer wins).
    if (!worst || worseFate(r.fate, worst.fate)) worst = r;
  }
  return worst;
}

/** Whether the fate is a risk worth a warning: taken, masqueraded, or certainly dropped. */
function atRisk(r: ReplyEvaluation): boolean {
  return r.fate === 'proxied' || r.fate === 'masqueraded' || (r.fate === 'dropped' && r.certain);
}

export function predictRisks(input: PredictInput): RiskFinding[] {
  const targets: Array<ServerRef & { forward?: string }> = [];
  const seen = new Set<string>();
  for (const f of input.forwards) {
    const s = { ip: f.host, port: f.port, proto: f.proto, forward: f.name };
    if (seen.has(riskId(s))) continue;
    seen.add(riskId(s));
    targets.push(s);
  }
  for (const s of input.servers ?? []) {
    if (seen.has(riskId(s))) continue;
    if (input.lan && (!input.lan.lan.has(s.ip) || input.lan.routerAddresses.has(s.ip))) continue;
    seen.add(riskId(s));
    targets.push(s);
  }
  const out: RiskFinding[] = [];
  for (const t of targets) {
    const r = worstReply(input.snapshot, input.proxies, t, input.iif);
    if (!r || !atRisk(r)) continue;
    out.push(riskFinding(t, r, input.now));
  }
  return out;
}

function consequence(r: ReplyEvaluation): string {
  if (r.fate === 'masqueraded' || r.evaluation.how?.kind === 'redirect')
    return 'outside clients would be reset during the handshake';
  if (r.fate === 'dropped') return 'outside clients would time out';
  return r.packet === 'udp' ? 'outside clients would get no answer' : 'outside clients would time out';
}

function riskFinding(t: ServerRef & { forward?: string }, r: ReplyEvaluation, now: number): RiskFinding {
  const server = formatEndpoint(t.ip, t.port);
  const who = t.forward ? `${server} (forward '${t.forward}')` : server;
  const rule = r.rule;
  const where = !rule
    ? 'a rule'
    : rule.backend === 'route'
      ? `routing (${rule.text})`
      : `${rule.backend} ${rule.table} ${rule.chain} #${rule.position ?? '?'}${rule.handle !== undefined ? ` (handle ${rule.handle})` : ''}: ${rule.text}`;
  const by = r.proxy ? ` ${r.proxy.label}` : '';
  const summary =
    `${t.proto.toUpperCase()} replies of ${who} to outside clients would be ${r.certain ? '' : 'possibly '}swallowed by this router${by ? ` —${by}` : ''}: ` +
    `the ${packetWord(r.packet)} is ${fateWord(r)} by ${where}; ${consequence(r)}.`;
  const evidence = [
    summary,
    `walked: ${t.proto.toUpperCase()} ${server} → ${formatEndpoint(r.peer, r.peerPort)}, ${r.packet === 'udp' ? 'datagram' : packetWord(r.packet)}, conntrack ${r.evaluation.ctState}`,
    ...r.evaluation.path
      .slice(0, 8)
      .map((h) =>
        h.backend === 'route'
          ? `  routing: ${h.text} → ${h.effect}`
          : `  ${h.backend} ${h.table} ${h.chain} #${h.position ?? '?'}: ${h.text} → ${h.effect}`,
      ),
    ...r.evaluation.reasons.slice(0, 3).map((x) => `not certain: ${x}`),
  ];
  const at = new Date(now).toISOString();
  const fixes = replyFixes(r, t.ip, t.port, t.proto, t.forward);
  const f: RiskFinding = {
    id: riskId(t),
    kind: 'reply_at_risk',
    severity: 'warning',
    state: 'active',
    proto: t.proto,
    server,
    peers: [],
    count: 0,
    first_seen: at,
    last_seen: at,
    summary,
    evidence,
    fix: fixTexts(fixes),
    typed_fixes: fixes,
    rule,
    certain: r.certain,
    packet: r.packet,
  };
  if (t.forward) f.forward = t.forward;
  if (r.proxy) f.proxy = r.proxy.label;
  if (r.evaluation.how?.kind === 'redirect' && r.evaluation.how.port !== undefined)
    f.diverted_to = `this router:${r.evaluation.how.port}`;
  return f;
}
