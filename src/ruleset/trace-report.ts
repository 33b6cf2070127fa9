// A live trace against explain: the traced replies of one server grouped by
// kind of packet (SYN-ACK, mid-stream ACK, UDP datagram …), each kind's first
// packet explained on the snapshot and compared with what the kernel did.
// Pure: the monitor's output and the snapshot in, a report out.

import { type ExplainReport, explainPacket } from './explain-text';
import { compareTrace, parseTrace, type TraceComparison, type TracePacket } from './nft-trace';
import type { RulesetSnapshot } from './ruleset-snapshot';

export interface TraceRequest {
  server: { ip: string; port: number };
  proto: 'tcp' | 'udp';
  /** The trace table ("inet replyguard_trace"): where tracing starts, left out of the paths shown. */
  table: string;
  /** Interface the replies come in on; else the one the trace saw. */
  iif?: string;
}

export interface TraceKindResult {
  kind: string;
  packets: number;
  example: TracePacket;
  comparison?: TraceComparison;
  explain?: ExplainReport;
}

export interface TraceReport {
  request: TraceRequest;
  /** How many of the server's replies were traced. */
  packets: number;
  kinds: TraceKindResult[];
  /** Legacy iptables rules are loaded: nft trace cannot see them. */
  legacy: boolean;
  /** The kinds whose comparison counts (with legacy rules loaded a disagreement is inconclusive). */
  compared: TraceKindResult[];
  disagree: TraceKindResult[];
  fingerprint: string;
}

/** The reply kinds explain can be asked about. */
const EXPLAINED_KINDS = ['synack', 'ack', 'udp'];

export function traceReport(snapshot: RulesetSnapshot, monitorOutput: string, req: TraceRequest): TraceReport {
  const { server, proto } = req;
  const packets = parseTrace(monitorOutput, req.table).filter((p) => p.saddr === server.ip && p.sport === server.port);
  const byKind = new Map<string, TraceKindResult>();
  for (const p of packets) {
    const k = byKind.get(p.kind);
    if (k) k.packets++;
    else byKind.set(p.kind, { kind: p.kind, packets: 1, example: p });
  }
  for (const k of byKind.values()) {
    if (!EXPLAINED_KINDS.includes(k.kind)) continue;
    const p = k.example;
    const report = explainPacket(snapshot, {
      proto,
      src: server.ip,
      sport: server.port,
      dst: p.daddr ?? '',
      dport: p.dport ?? 0,
      ...(req.iif ? { iif: req.iif } : p.iif ? { iif: p.iif } : {}),
      ...(k.kind === 'udp' ? {} : { flags: k.kind as 'synack' | 'ack' }),
    });
    if (typeof report === 'string') continue;
    k.explain = report;
    k.comparison = compareTrace(
      p,
      { verdict: report.verdict, how: report.how, responsible: report.responsible },
      req.table,
    );
  }
  const kinds = [...byKind.values()];
  // Legacy iptables rules live outside nf_tables: nft trace cannot show them, so a trace cannot
  // contradict explain about them.
  const legacy = snapshot.ruleset.tables.some(
    (t) => t.variant === 'legacy' && t.chains.some((c) => c.rules.length > 0),
  );
  for (const r of kinds) {
    const c = r.comparison;
    if (!c || c.agree || !legacy) continue;
    c.why.push('legacy iptables rules are loaded and nft trace cannot see them: this may be why (inconclusive)');
  }
  const compared = kinds.filter((r) => r.comparison && !(legacy && !r.comparison.agree));
  const disagree = compared.filter((r) => !r.comparison!.agree);
  return {
    request: req,
    packets: packets.length,
    kinds,
    legacy,
    compared,
    disagree,
    fingerprint: snapshot.fingerprint,
  };
}
