// The live part of `replyguard trace`: adds a table of its own (inet
// replyguard_trace, prerouting priority -400, before raw) that sets nftrace
// only on packets from the server port to non-private addresses, and reads
// `nft -a monitor trace` for N seconds. The table is always removed: in
// finally, on SIGINT/SIGTERM, and (after a crash) at the start of the next
// trace and of the daemon.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TRACE_TABLE } from '../daemon/ruleset-unit';
import { formatEndpoint, NON_PUBLIC_V4, NON_PUBLIC_V6 } from '../net/ip-address';
import { hasJoinedGroup, NETLINK_NETFILTER, NFNLGRP_NFTRACE } from '../net/proc-net-netlink';

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

export interface TraceSessionRequest {
  server: { ip: string; port: number };
  proto: 'tcp' | 'udp';
  seconds: number;
}

export interface TraceSession {
  /** What `nft -a monitor trace` printed. */
  output: string;
  /** The trace table is gone again. */
  removed: boolean;
}

/** Traces the server's replies for the given seconds; null when the trace could not run (said on stderr). */
export async function traceSession(nft: string, req: TraceSessionRequest): Promise<TraceSession | null> {
  const { server, proto, seconds } = req;
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
      return null;
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
      return null;
    }
  } finally {
    const ok = removeTable();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (!ok)
      process.stderr.write(`replyguard trace: could not remove table ${TRACE_TABLE.family} ${TRACE_TABLE.name}\n`);
  }
  return { output, removed };
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
