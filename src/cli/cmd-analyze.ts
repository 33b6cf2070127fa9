// `replyguard analyze FILE`: offline findings from a saved conntrack capture,
// read as a stream through the daemon's byte line reader.

import { closeSync, openSync, readSync } from 'node:fs';
import { type AnalysisReport, ConntrackAnalysis } from '../analyze/analyze-capture';
import {
  type CaptureFormat,
  PacketCaptureAnalysis,
  type PacketCaptureReport,
  sniffCaptureFormat,
} from '../analyze/packet-capture-analysis';
import { type LanView, makeLanView, PRIVATE_LAN_FALLBACK } from '../detector/lan-view';
import { parsePrefix } from '../net/ip-address';
import { renderFindingLines } from '../status/status-text';
import { ByteLineSplitter } from '../util/byte-line-splitter';
import { GcHint } from '../util/gc-hint';
import { inputText, terminalText } from '../util/input-text';
import { flagString, parseArgs, UsageError } from './args';
import { configFor } from './config-option';
import { EXIT_CONFIG, EXIT_DATAERR, EXIT_NOINPUT } from './exit-codes';

export async function runAnalyze(argv: string[]): Promise<number> {
  const lans: string[] = [];
  // --lan may repeat: collect it before the generic parser keeps only the last.
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--lan') lans.push(argv[++i] ?? '');
    else if (a.startsWith('--lan=')) lans.push(a.slice(6));
    else rest.push(a);
  }
  const args = parseArgs(rest, ['--config'], ['--json']);
  const [file, extra] = args.positionals;
  if (file === undefined || extra !== undefined) throw new UsageError('analyze takes one capture file (or -)');
  for (const l of lans) if (!parsePrefix(l)) throw new UsageError(`--lan ${JSON.stringify(l)} is not an IP prefix`);

  let view: LanView;
  const configPath = flagString(args, '--config');
  try {
    const config = configPath !== undefined ? configFor(configPath) : undefined;
    const subnets = lans.length > 0 ? lans : config?.main.lanSubnets.length ? config.main.lanSubnets : undefined;
    const source = lans.length > 0 ? '--lan' : subnets ? 'config' : 'private ranges (use --lan to narrow)';
    view = makeLanView(subnets ?? PRIVATE_LAN_FALLBACK, [], config?.forwards ?? [], source);
  } catch (err) {
    process.stderr.write(`replyguard: config: ${(err as Error).message}\n`);
    return EXIT_CONFIG;
  }

  let report: AnalysisReport | PacketCaptureReport;
  try {
    report = await analyzeStream(file === '-' ? process.stdin : fileChunks(file), file, view, file === '-');
  } catch (err) {
    // Only the file's own trouble (missing, unreadable) is the user's to fix; anything else is a bug.
    if (typeof (err as NodeJS.ErrnoException).code !== 'string') throw err;
    process.stderr.write(`replyguard: cannot read ${file}: ${(err as Error).message}\n`);
    return EXIT_NOINPUT;
  }
  if (args.flags.has('--json')) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(terminalText('format' in report ? renderPacketReport(report) : renderReport(report)));
  if ('fatal_error' in report && report.fatal_error) {
    process.stderr.write(`replyguard: ${file}: ${report.fatal_error}\n`);
    return EXIT_DATAERR;
  }
  return report.findings.some((f) => f.kind === 'reply_hijacked') ? 2 : 0;
}

/**
 * A file's bytes, read synchronously into one reused buffer (the splitter copies what it keeps): for
 * a file on disk, no event-loop turn and no new buffer per chunk.
 */
function* fileChunks(path: string): Generator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Longest line read; a longer one is reported as unreadable (the parser's own limit is lower). */
const MAX_LINE_BYTES = 8192;

async function analyzeStream(
  input: AsyncIterable<Buffer> | Iterable<Buffer>,
  source: string,
  view: LanView,
  freshChunks: boolean,
): Promise<AnalysisReport | PacketCaptureReport> {
  // A stream hands over a new buffer per chunk: minor collections as the bytes go by keep peak RSS flat as
  // the capture grows. A file is read into one reused buffer, which leaves nothing behind for them (and
  // a forced collection every few MB made analysing a file some 5% slower).
  const gc = freshChunks ? new GcHint() : undefined;
  let sink: ((chunk: Buffer) => void) | undefined;
  let finish: (() => Promise<AnalysisReport | PacketCaptureReport>) | undefined;
  for await (const chunk of input) {
    gc?.read(chunk.length);
    if (!sink) {
      // The first chunk says what kind of capture this is.
      [sink, finish] = startAnalysis(sniffCaptureFormat(chunk), source, view);
    }
    sink(chunk);
  }
  if (!finish) [, finish] = startAnalysis('conntrack', source, view);
  return finish();
}

function startAnalysis(
  format: CaptureFormat,
  source: string,
  view: LanView,
): [(chunk: Buffer) => void, () => Promise<AnalysisReport | PacketCaptureReport>] {
  if (format !== 'conntrack') {
    const packets = new PacketCaptureAnalysis(source, format);
    return [(c) => packets.write(c), async () => packets.finish()];
  }
  const analysis = new ConntrackAnalysis(source, view);
  let overlongSeen = 0;
  // The splitter counts the lines it dropped before it hands over the next ones: keep the numbering.
  const overlong = () => {
    for (; overlongSeen < splitter.overlong; overlongSeen++) analysis.overlongLine(MAX_LINE_BYTES);
  };
  const splitter: ByteLineSplitter = new ByteLineSplitter(
    (buf, start, end) => {
      overlong();
      analysis.line(buf, start, end);
    },
    MAX_LINE_BYTES,
    (buf, start) => {
      overlong();
      return analysis.lines(buf, start);
    },
  );
  const finished = new Promise((resolve, reject) => splitter.once('finish', resolve).once('error', reject));
  // The splitter works synchronously: each chunk is cut and analysed before the next is read.
  return [
    (c) => splitter.write(c),
    async () => {
      splitter.end();
      await finished;
      for (; overlongSeen < splitter.overlong; overlongSeen++) analysis.overlongLine(MAX_LINE_BYTES);
      return analysis.finish();
    },
  ];
}

function renderReport(r: AnalysisReport): string {
  const out = [
    `${r.source}: ${r.lines} lines, ${r.events} conntrack events, ${r.parse_errors} unreadable, ` +
      `${r.started_before_capture} flows began before the capture (they prove nothing).`,
    `LAN: ${r.lan.subnets.join(' ')} (${r.lan.source})`,
  ];
  // The lines are the capture's: shown cut short and with their control bytes escaped.
  for (const e of r.first_errors.slice(0, 5)) out.push(`  line ${e.line}: ${inputText(e.error)}: ${inputText(e.text)}`);
  const hijacks = r.findings.filter((f) => f.kind === 'reply_hijacked');
  if (hijacks.length === 0) out.push('', 'No hijacked replies in this capture.');
  for (const f of hijacks) out.push('', ...renderFindingLines(f, Date.now()));
  const asym = r.findings.filter((f) => f.kind === 'asymmetric_reply');
  if (asym.length > 0) {
    out.push('', 'Asymmetric but working (info):');
    for (const f of asym) out.push(`  ${f.summary} (${f.count}×)`);
  }
  return `${out.join('\n')}\n`;
}

function renderPacketReport(r: PacketCaptureReport): string {
  const c = r.connections;
  const out = [
    `${r.source}: ${r.format}, ${r.records} ${r.format === 'tcpdump-text' ? 'lines' : 'records'}, ${r.tcp_packets} TCP segments, ${r.parse_errors} unreadable.`,
    `Connections: ${c.hijacked} with the reply-hijack signature, ${c.healthy} working, ${c.no_answer} never answered, ${c.unclear} unclear.${r.unlisted_connections > 0 ? ` ${r.unlisted_connections} more to further servers, counted only.` : ''}`,
  ];
  if (r.fatal_error) out.push(`Stopped reading: ${r.fatal_error}`);
  for (const e of r.first_errors.slice(0, 5))
    out.push(`  ${e.where}: ${inputText(e.error)}${e.text ? `: ${inputText(e.text)}` : ''}`);
  if (r.findings.length === 0) out.push('', 'No connection shows the reply-hijack signature.');
  for (const f of r.findings) {
    out.push(
      '',
      `BROKEN (confidence ${f.confidence}): TCP ${f.server}${f.forward ? ` (forwarded from ${f.forward})` : ''} — ${f.count} connection(s) from ${f.peers.join(', ')}`,
    );
    out.push(`  Why: ${f.summary}`);
    for (const e of f.evidence.slice(1)) out.push(`  Seen: ${e}`);
    out.push('  Next:', ...f.fix.map((x) => `    - ${x}`));
    out.push('  Cannot tell from this capture:', ...f.cannot_conclude.map((x) => `    - ${x}`));
  }
  for (const n of r.notes) out.push('', n.text);
  return `${out.join('\n')}\n`;
}
