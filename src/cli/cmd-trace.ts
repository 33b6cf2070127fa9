// `replyguard trace --server IP:PORT`: live confirmation. Adds a table of its
// own (inet replyguard_trace, prerouting priority -400, before raw) that sets
// nftrace only on packets from that server port to non-private addresses,
// reads `nft -a monitor trace` for N seconds, prints the real path of each
// kind of reply packet (SYN-ACK, mid-stream ACK, UDP datagram) and whether
// the static `explain` for the same packet agrees. The table is always
// removed: in finally, on SIGINT/SIGTERM, and (after a crash) at the start of
// the next trace and of the daemon.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { removeLeftoverTraceTable, TRACE_TABLE } from '../daemon/ruleset-unit';
import { formatEndpoint, NON_PUBLIC_V4, NON_PUBLIC_V6, parseAddress, splitEndpoint } from '../net/ip-address';
import { hasJoinedGroup, NETLINK_NETFILTER, NFNLGRP_NFTRACE } from '../net/proc-net-netlink';
import { type ExplainReport, explainPacket } from '../ruleset/explain-text';
import {
  compareTrace,
  foreignHops,
  parseTrace,
  type TraceComparison,
  type TracePacket,
  traceFate,
} from '../ruleset/nft-trace';
import { readLiveRuleset } from '../sensors/ruleset-reader';
import { createLogger } from '../system/log';
import { which } from '../system/which';
import { terminalText } from '../util/input-text';
import { flagString, parseArgs, UsageError } from './args';

export const TRACE_EXIT = { agree: 0, disagree: 1, cannotRun: 2, nothingSeen: 3 } as const;

/** The trace table: nftrace on for the server's packets to non-private peers, before every other chain. */
export function traceTableScript(server: string, port: number, proto: 'tcp' | 'udp'): string {
  const v6 = server.includes(':');
  const ip = v6 ? 'ip6' : 'ip';
  const privates = (v6 ? NON_PUBLIC_V6 : NON_PUBLIC_V4).join(', ');
  const t = `table ${TRACE_TABLE.family} ${TRACE_TABLE.name}`;
  return `${t}
delete ${t}
${t} {
  chain pre {
    type filter hook prerouting priority -400; policy accept;
    ${ip} saddr ${server} ${proto} sport ${port} ${ip} daddr != { ${privates} } meta nftrace set 1
  }
}
`;
}

function endpoint(text: string | undefined): { ip: string; port: number } {
  if (!text) throw new UsageError('--server IP:PORT is required');
  const ep = splitEndpoint(text);
  if (!ep || !parseAddress(ep.ip)) throw new UsageError(`--server ${JSON.stringify(text)} is not IP:PORT`);
  if (ep.port < 1 || ep.port > 65535) throw new UsageError(`--server: port ${ep.port} out of range`);
  return ep;
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

interface KindResult {
  kind: string;
  packets: number;
  example: TracePacket;
  comparison?: TraceComparison;
  explain?: ExplainReport;
}

export async function runTrace(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['--server', '--proto', '--seconds', '--in'], ['--json']);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const server = endpoint(flagString(args, '--server'));
  const proto = flagString(args, '--proto') ?? 'tcp';
  if (proto !== 'tcp' && proto !== 'udp') throw new UsageError('--proto is tcp or udp');
  const secondsText = flagString(args, '--seconds') ?? '30';
  if (!/^\d+(\.\d+)?$/.test(secondsText) || Number(secondsText) <= 0 || Number(secondsText) > 3600)
    throw new UsageError('--seconds is a number of seconds, 1-3600');
  const seconds = Number(secondsText);
  const json = args.flags.has('--json');
  const nft = which('nft');
  if (!nft) {
    process.stderr.write('replyguard trace: nft not found — the trace needs nftables (nft monitor trace)\n');
    return TRACE_EXIT.cannotRun;
  }
  const log = createLogger('warn');
  await removeLeftoverTraceTable(nft, log);
  // The static model is read before the trace table exists, so that explain sees the router as it is.
  const live = await readLiveRuleset();
  const snapshot = live.snapshot;

  let monitor: ChildProcess | undefined;
  let removed = false;
  const removeTable = (): boolean => {
    if (removed) return true;
    monitor?.kill('SIGTERM');
    const r = spawnSync(nft, ['delete', 'table', TRACE_TABLE.family, TRACE_TABLE.name], { stdio: 'ignore' });
    const list = spawnSync(nft, ['list', 'table', TRACE_TABLE.family, TRACE_TABLE.name], { stdio: 'ignore' });
    removed = list.status !== 0;
    return removed || r.status === 0;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    removeTable();
    process.stderr.write(`replyguard trace: ${sig}: trace table removed\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let output = '';
  try {
    const install = spawnSync(nft, ['-f', '-'], { input: traceTableScript(server.ip, server.port, proto) });
    if (install.status !== 0) {
      process.stderr.write(`replyguard trace: cannot add the trace table: ${install.stderr.toString().trim()}\n`);
      return TRACE_EXIT.cannotRun;
    }
    // Started after the table exists: the monitor caches the ruleset (rule texts by handle) at start.
    const child = spawn(nft, ['-a', 'monitor', 'trace'], { stdio: ['ignore', 'pipe', 'pipe'] });
    monitor = child;
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      if (output.length < 16 * 1024 * 1024) output += c;
    });
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    // "Connect now" only once nft listens: until its socket joins the trace group, traced packets are lost.
    await untilListening(child);
    // On stderr in --json mode too: whoever runs it needs to know when to connect.
    process.stderr.write(
      `Tracing replies of ${formatEndpoint(server.ip, server.port)}/${proto} to non-private addresses for ${seconds} s — connect from outside now…\n`,
    );
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), seconds * 1000);
      child.once('close', (_code, signal) => {
        clearTimeout(timer);
        // Ctrl-C reaches the whole foreground process group: nft may die of it before our handler runs.
        if (!child.killed && (signal === 'SIGINT' || signal === 'SIGTERM')) onSignal(signal);
        resolve(true);
      });
    });
    if (exited) {
      process.stderr.write(`replyguard trace: nft monitor trace stopped: ${stderr.trim() || 'exited'}\n`);
      return TRACE_EXIT.cannotRun;
    }
  } finally {
    const ok = removeTable();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (!ok)
      process.stderr.write(`replyguard trace: could not remove table ${TRACE_TABLE.family} ${TRACE_TABLE.name}\n`);
  }

  const packets = parseTrace(output, `${TRACE_TABLE.family} ${TRACE_TABLE.name}`).filter(
    (p) => p.saddr === server.ip && p.sport === server.port,
  );
  const byKind = new Map<string, KindResult>();
  for (const p of packets) {
    const k = byKind.get(p.kind);
    if (k) k.packets++;
    else byKind.set(p.kind, { kind: p.kind, packets: 1, example: p });
  }
  for (const k of byKind.values()) {
    if (!['synack', 'ack', 'udp'].includes(k.kind)) continue;
    const p = k.example;
    const report = explainPacket(snapshot, {
      proto,
      src: server.ip,
      sport: server.port,
      dst: p.daddr ?? '',
      dport: p.dport ?? 0,
      ...(flagString(args, '--in') ? { iif: flagString(args, '--in')! } : p.iif ? { iif: p.iif } : {}),
      ...(k.kind === 'udp' ? {} : { flags: k.kind as 'synack' | 'ack' }),
    });
    if (typeof report === 'string') continue;
    k.explain = report;
    k.comparison = compareTrace(p, {
      verdict: report.verdict,
      how: report.how,
      responsible: report.responsible,
    });
  }
  const results = [...byKind.values()];
  // Legacy iptables rules live outside nf_tables: nft trace cannot show them, so a trace cannot
  // contradict explain about them.
  const legacy = snapshot.ruleset.tables.some(
    (t) => t.variant === 'legacy' && t.chains.some((c) => c.rules.length > 0),
  );
  for (const r of results) {
    const c = r.comparison;
    if (!c || c.agree || !legacy) continue;
    c.why.push('legacy iptables rules are loaded and nft trace cannot see them: this may be why (inconclusive)');
  }
  const compared = results.filter((r) => r.comparison && !(legacy && !r.comparison.agree));
  const disagree = compared.filter((r) => !r.comparison!.agree);
  const code =
    packets.length === 0 ? TRACE_EXIT.nothingSeen : disagree.length > 0 ? TRACE_EXIT.disagree : TRACE_EXIT.agree;

  if (json) {
    const doc = {
      server: formatEndpoint(server.ip, server.port),
      proto,
      seconds,
      table: `${TRACE_TABLE.family} ${TRACE_TABLE.name}`,
      table_removed: removed,
      packets: packets.length,
      legacy_iptables: legacy,
      agree: compared.length === 0 ? null : disagree.length === 0,
      kinds: results.map((r) => ({
        kind: r.kind,
        packets: r.packets,
        example: {
          from: formatEndpoint(r.example.saddr ?? '', r.example.sport),
          to: formatEndpoint(r.example.daddr ?? '', r.example.dport),
          flags: r.example.tcpFlags ?? null,
          path: foreignHops(r.example),
          entries: r.example.entries,
          fate: traceFate(r.example),
        },
        comparison: r.comparison ?? null,
        explain: r.explain
          ? {
              verdict: r.explain.verdict,
              certain: r.explain.certain,
              how: r.explain.how,
              responsible: r.explain.responsible,
              path: r.explain.path,
            }
          : null,
      })),
      fingerprint: snapshot.fingerprint,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return code;
  }
  const out: string[] = [];
  if (packets.length === 0) {
    out.push(
      `No replies of ${formatEndpoint(server.ip, server.port)}/${proto} to a non-private address passed this router in ${seconds} s.`,
      'Start a connection from outside (through the main router’s port forward) while the trace runs, or trace longer (--seconds).',
    );
    process.stdout.write(terminalText(`${out.join('\n')}\n`));
    return code;
  }
  out.push(`Traced ${packets.length} replies of ${formatEndpoint(server.ip, server.port)}/${proto} in ${seconds} s:`);
  for (const r of results) {
    const p = r.example;
    out.push('');
    out.push(
      `${KIND_WORD[r.kind] ?? r.kind} (${r.packets}×), e.g. → ${formatEndpoint(p.daddr ?? '?', p.dport)}${p.tcpFlags ? ` [flags ${p.tcpFlags}]` : ''}`,
    );
    const hops = foreignHops(p);
    if (hops.length === 0) out.push('    no firewall rule matched it (only replyguard’s trace table saw it)');
    for (const h of hops) {
      const where = `${h.table} ${h.chain}${h.handle !== undefined ? ` (handle ${h.handle})` : ''}`;
      if (h.kind === 'rule')
        out.push(`    ${where}: ${h.text || '(a rule added after the trace started)'} → ${h.verdict}`);
      else out.push(`    ${where}: ${h.kind} ${h.verdict}`);
    }
    const later = p.entries.slice(1).filter((e) => e.table !== `${TRACE_TABLE.family} ${TRACE_TABLE.name}`);
    const delivered = later.find((e) => /\bINPUT$|\binput$/i.test(e.chain));
    if (delivered)
      out.push(
        `    then delivered to this router: ${delivered.table} ${delivered.chain} (to ${formatEndpoint(delivered.daddr ?? '?', delivered.dport)})`,
      );
    if (r.comparison) {
      const c = r.comparison;
      out.push(`    trace: ${c.traced}`);
      out.push(`    explain: ${c.explained}${r.explain && !r.explain.certain ? ' (not certain)' : ''}`);
      out.push(c.agree ? '    → explain AGREES with the kernel' : `    → explain DISAGREES: ${c.why.join('; ')}`);
    }
  }
  out.push('');
  if (legacy)
    out.push(
      'Note: legacy iptables rules are loaded; nft trace does not see them, so the trace cannot confirm or refute what they do.',
    );
  if (disagree.length > 0) {
    out.push(
      'The static explain does not match what the kernel did. That is a bug in replyguard’s model: please report it with',
      `  replyguard trace --server ${formatEndpoint(server.ip, server.port)} --proto ${proto} --json   and   nft -j list ruleset; iptables-save`,
    );
  } else if (compared.length > 0) out.push('explain agrees with the trace for every kind of reply packet seen.');
  out.push(
    `Trace table ${TRACE_TABLE.family} ${TRACE_TABLE.name} ${removed ? 'removed' : 'NOT removed — run: nft delete table inet replyguard_trace'}.`,
  );
  process.stdout.write(terminalText(`${out.join('\n')}\n`));
  return code;
}

const LISTEN_WAIT_MS = 5000;

/** Resolves once the monitor's netlink socket has joined NFNLGRP_NFTRACE (or it exited, or 5 s passed). */
async function untilListening(child: ChildProcess): Promise<void> {
  const deadline = Date.now() + LISTEN_WAIT_MS;
  while (child.exitCode === null && child.pid !== undefined && Date.now() < deadline) {
    try {
      if (hasJoinedGroup(readFileSync('/proc/net/netlink', 'utf8'), child.pid, NETLINK_NETFILTER, NFNLGRP_NFTRACE))
        return;
    } catch {
      return; // no /proc: nothing to wait on
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
