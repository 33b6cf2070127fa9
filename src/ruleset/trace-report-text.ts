// A trace report as `replyguard trace --json` prints it and as people read
// it. Pure.

import { formatEndpoint } from '../net/ip-address';
import { foreignHops, traceFate } from './nft-trace';
import type { TraceReport } from './trace-report';

/** How the trace ran: for how long, and whether its table is gone again. */
export interface TraceRun {
  seconds: number;
  removed: boolean;
}

const KIND_WORD: Record<string, string> = {
  synack: 'SYN-ACK',
  ack: 'mid-stream ACK',
  udp: 'UDP datagram',
  rst: 'RST',
  fin: 'FIN',
  syn: 'SYN',
  other: 'packet',
};

export function traceReportJson(r: TraceReport, run: TraceRun): unknown {
  const { server, proto, table } = r.request;
  return {
    server: formatEndpoint(server.ip, server.port),
    proto,
    seconds: run.seconds,
    table,
    table_removed: run.removed,
    packets: r.packets,
    legacy_iptables: r.legacy,
    agree: r.compared.length === 0 ? null : r.disagree.length === 0,
    kinds: r.kinds.map((k) => ({
      kind: k.kind,
      packets: k.packets,
      example: {
        from: formatEndpoint(k.example.saddr ?? '', k.example.sport),
        to: formatEndpoint(k.example.daddr ?? '', k.example.dport),
        flags: k.example.tcpFlags ?? null,
        path: foreignHops(k.example, table),
        entries: k.example.entries,
        fate: traceFate(k.example, table),
      },
      comparison: k.comparison ?? null,
      explain: k.explain
        ? {
            verdict: k.explain.verdict,
            certain: k.explain.certain,
            how: k.explain.how,
            responsible: k.explain.responsible,
            path: k.explain.path,
          }
        : null,
    })),
    fingerprint: r.fingerprint,
  };
}

export function renderTraceReport(r: TraceReport, run: TraceRun): string {
  const { server, proto, table } = r.request;
  const what = `${formatEndpoint(server.ip, server.port)}/${proto}`;
  const out: string[] = [];
  if (r.packets === 0) {
    out.push(
      `No replies of ${what} to a non-private address passed this router in ${run.seconds} s.`,
      'Start a connection from outside (through the main router’s port forward) while the trace runs, or trace longer (--seconds).',
    );
    return `${out.join('\n')}\n`;
  }
  out.push(`Traced ${r.packets} replies of ${what} in ${run.seconds} s:`);
  for (const k of r.kinds) {
    const p = k.example;
    out.push('');
    out.push(
      `${KIND_WORD[k.kind] ?? k.kind} (${k.packets}×), e.g. → ${formatEndpoint(p.daddr ?? '?', p.dport)}${p.tcpFlags ? ` [flags ${p.tcpFlags}]` : ''}`,
    );
    const hops = foreignHops(p, table);
    if (hops.length === 0) out.push('    no firewall rule matched it (only replyguard’s trace table saw it)');
    for (const h of hops) {
      const where = `${h.table} ${h.chain}${h.handle !== undefined ? ` (handle ${h.handle})` : ''}`;
      if (h.kind === 'rule')
        out.push(`    ${where}: ${h.text || '(a rule added after the trace started)'} → ${h.verdict}`);
      else out.push(`    ${where}: ${h.kind} ${h.verdict}`);
    }
    const later = p.entries.slice(1).filter((e) => e.table !== table);
    const delivered = later.find((e) => /\bINPUT$|\binput$/i.test(e.chain));
    if (delivered)
      out.push(
        `    then delivered to this router: ${delivered.table} ${delivered.chain} (to ${formatEndpoint(delivered.daddr ?? '?', delivered.dport)})`,
      );
    if (k.comparison) {
      const c = k.comparison;
      out.push(`    trace: ${c.traced}`);
      out.push(`    explain: ${c.explained}${k.explain && !k.explain.certain ? ' (not certain)' : ''}`);
      out.push(c.agree ? '    → explain AGREES with the kernel' : `    → explain DISAGREES: ${c.why.join('; ')}`);
    }
  }
  out.push('');
  if (r.legacy)
    out.push(
      'Note: legacy iptables rules are loaded; nft trace does not see them, so the trace cannot confirm or refute what they do.',
    );
  if (r.disagree.length > 0) {
    out.push(
      'The static explain does not match what the kernel did. That is a bug in replyguard’s model: please report it with',
      `  replyguard trace --server ${formatEndpoint(server.ip, server.port)} --proto ${proto} --json   and   nft -j list ruleset; iptables-save`,
    );
  } else if (r.compared.length > 0) out.push('explain agrees with the trace for every kind of reply packet seen.');
  out.push(`Trace table ${table} ${run.removed ? 'removed' : `NOT removed — run: nft delete table ${table}`}.`);
  return `${out.join('\n')}\n`;
}
