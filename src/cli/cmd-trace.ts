// `replyguard trace --server IP:PORT`: live confirmation. Traces the server's
// replies to outside peers for N seconds (trace-session.ts), prints the real
// path of each kind of reply packet (SYN-ACK, mid-stream ACK, UDP datagram)
// and whether the static `explain` for the same packet agrees
// (ruleset/trace-report.ts).

import { removeLeftoverTraceTable, TRACE_TABLE } from '../daemon/ruleset-unit';
import { type TraceReport, traceReport } from '../ruleset/trace-report';
import { renderTraceReport, traceReportJson } from '../ruleset/trace-report-text';
import { readLiveRuleset } from '../sensors/ruleset-reader';
import { createLogger } from '../system/log';
import { which } from '../system/which';
import { terminalText } from '../util/input-text';
import { endpointFlag, flagString, parseArgs, UsageError } from './args';
import { traceSession } from './trace-session';

export const TRACE_EXIT = { agree: 0, disagree: 1, cannotRun: 2, nothingSeen: 3 } as const;

interface TraceOptions {
  server: { ip: string; port: number };
  proto: 'tcp' | 'udp';
  seconds: number;
  json: boolean;
  /** --in: the interface the replies come in on, for explain. */
  iif?: string;
}

function traceOptions(argv: string[]): TraceOptions {
  const args = parseArgs(argv, ['--server', '--proto', '--seconds', '--in'], ['--json']);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const server = endpointFlag(args, '--server');
  const proto = flagString(args, '--proto') ?? 'tcp';
  if (proto !== 'tcp' && proto !== 'udp') throw new UsageError('--proto is tcp or udp');
  const secondsText = flagString(args, '--seconds') ?? '30';
  if (!/^\d+(\.\d+)?$/.test(secondsText) || Number(secondsText) <= 0 || Number(secondsText) > 3600)
    throw new UsageError('--seconds is a number of seconds, 1-3600');
  const iif = flagString(args, '--in');
  return {
    server,
    proto,
    seconds: Number(secondsText),
    json: args.flags.has('--json'),
    ...(iif ? { iif } : {}),
  };
}

function exitCode(r: TraceReport): number {
  if (r.packets === 0) return TRACE_EXIT.nothingSeen;
  return r.disagree.length > 0 ? TRACE_EXIT.disagree : TRACE_EXIT.agree;
}

export async function runTrace(argv: string[]): Promise<number> {
  const opts = traceOptions(argv);
  const nft = which('nft');
  if (!nft) {
    process.stderr.write('replyguard trace: nft not found — the trace needs nftables (nft monitor trace)\n');
    return TRACE_EXIT.cannotRun;
  }
  await removeLeftoverTraceTable(nft, createLogger('warn'));
  // The static model is read before the trace table exists, so that explain sees the router as it is.
  const { snapshot } = await readLiveRuleset();
  const session = await traceSession(nft, opts);
  if (!session) return TRACE_EXIT.cannotRun;
  const report = traceReport(snapshot, session.output, {
    server: opts.server,
    proto: opts.proto,
    table: `${TRACE_TABLE.family} ${TRACE_TABLE.name}`,
    ...(opts.iif ? { iif: opts.iif } : {}),
  });
  const run = { seconds: opts.seconds, removed: session.removed };
  if (opts.json) process.stdout.write(`${JSON.stringify(traceReportJson(report, run), null, 2)}\n`);
  else process.stdout.write(terminalText(renderTraceReport(report, run)));
  return exitCode(report);
}
