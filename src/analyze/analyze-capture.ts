// `replyguard analyze` of a `conntrack -E`/`-L` capture: the daemon's parts
// run once over a saved file, fed line by line as the bytes arrive, so that a
// capture of any size is read in bounded memory. As in the daemon, the line
// pre-filter drops what the detector would ignore before it is decoded; such a
// line is only glanced at (conntrack-glance.ts) for the report's counts. Pure:
// lines in, report out; the caller reads the file.

import { parseConntrackLine } from '../conntrack/conntrack-line';
import { tupleMayMatter } from '../conntrack/line-prefilter';
import { Detector } from '../detector/detector';
import type { Finding } from '../detector/finding';
import type { LanView } from '../detector/lan-view';
import {
  flowHash,
  GLANCE_DESTROY,
  GLANCE_NEW,
  GLANCE_UPDATE,
  type Glance,
  glanceLine,
  glanceMs,
} from './conntrack-glance';
import { FlowSightings } from './flow-sightings';

export interface AnalysisReport {
  schema: 1;
  source: string;
  lines: number;
  events: number;
  /** Flows whose first line in the capture is an UPDATE or DESTROY: they began before it and prove nothing. */
  started_before_capture: number;
  parse_errors: number;
  first_errors: Array<{ line: number; error: string; text: string }>;
  lan: { subnets: string[]; source: string };
  findings: Finding[];
}

export interface AnalyzeOptions {
  /** Milliseconds a hijack stays active after it was last seen (default 15 min). */
  holdMs?: number;
  /** The time of events without a timestamp (default: now). */
  now?: number;
}

const MAX_ERRORS_SHOWN = 20;
/** Flows remembered to tell "began before the capture"; one forgotten is at worst counted again. */
const MAX_SEEN_FLOWS = 262144;

export class ConntrackAnalysis {
  private readonly detector: Detector;
  private readonly seen = new FlowSightings(MAX_SEEN_FLOWS);
  private readonly report: AnalysisReport;
  private readonly glance: Glance = {
    kind: 0,
    flow: 0,
    check: 0,
    sec: Number.NEGATIVE_INFINITY,
    frac: 0,
    fracDigits: 0,
    srcAt: 0,
    proto: 0,
    synSent: false,
    end: 0,
  };
  private readonly fallbackNow: number;
  private lineNo = 0;
  // The times start as -Infinity, not 0 or -1: a field that begins as a small integer and later holds
  // epoch seconds changes representation mid-run, which throws away the optimized code of every line.
  /** Latest event time of parsed lines (ms). */
  private last = Number.NEGATIVE_INFINITY;
  /** Latest timestamp of glanced lines, kept as printed so that it converts exactly as the parser's. */
  private lastSec = Number.NEGATIVE_INFINITY;
  private lastFrac = 0;
  private lastFracDigits = 0;
  private glancedUntimed = false;

  constructor(source: string, view: LanView, opts: AnalyzeOptions = {}) {
    this.fallbackNow = opts.now ?? Date.now();
    this.detector = new Detector(view, { maxFindings: 4096, maxFlows: 65536, problemHoldMs: opts.holdMs ?? 900_000 });
    this.report = {
      schema: 1,
      source,
      lines: 0,
      events: 0,
      started_before_capture: 0,
      parse_errors: 0,
      first_errors: [],
      lan: { subnets: view.lan.list.map((p) => p.text), source: view.lanSource },
      findings: [],
    };
  }

  /**
   * The lines of buf from `start` on that are only counted, one after another, each ended by the glance
   * that reads it (no separate search for its newline); buf ends with a newline. Stops at the first line
   * the glance cannot read or the detector may want, and returns where: that line goes to line(). (Such
   * lines are rare; kept out of this loop, they do not send its compiled code back to the interpreter.)
   */
  lines(buf: Buffer, start: number): number {
    const g = this.glance;
    let at = start;
    while (at < buf.length && glanceLine(buf, at, g) && this.onlyCounted(buf, g)) {
      this.lineNo++;
      this.report.lines++;
      this.count(g);
      at = g.end + 1;
    }
    return at;
  }

  /** One line, buf[start, end) without its newline. */
  line(buf: Buffer, start: number, end: number): void {
    this.lineNo++;
    if (isBlankLine(buf, start, end)) return;
    this.report.lines++;
    const g = this.glance;
    // The glance reads on to a newline: only where that is the line's own end does it read this line.
    if (glanceLine(buf, start, g) && g.end === end && this.onlyCounted(buf, g)) this.count(g);
    else this.parse(buf, start, end);
  }

  /** A line the detector may want: parsed, counted and given to it. */
  private parse(buf: Buffer, start: number, end: number): void {
    const g = this.glance;
    const text = buf.toString('utf8', start, end);
    const result = parseConntrackLine(text);
    if ('skip' in result) return;
    if ('error' in result) {
      this.noteError(result.error, text);
      return;
    }
    this.report.events++;
    const e = result.entry;
    const kind = e.event === 'UPDATE' ? GLANCE_UPDATE : e.event === 'DESTROY' ? GLANCE_DESTROY : GLANCE_NEW;
    flowHash(g, e.proto, e.orig.src, e.orig.dst, e.orig.sport, e.orig.dport);
    this.noteSight(kind, g.flow, g.check);
    const at = e.timestamp !== undefined ? e.timestamp * 1000 : this.fallbackNow;
    this.last = Math.max(this.last, at);
    this.detector.ingest(e, text, at);
  }

  /**
   * A glanced line the detector would ignore: the pre-filter drops every UPDATE, so it is not asked, and
   * for the others it decides from the head the glance has read.
   */
  private onlyCounted(buf: Buffer, g: Glance): boolean {
    return (
      g.kind === GLANCE_UPDATE ||
      !tupleMayMatter(buf, g.srcAt, g.end, g.kind === GLANCE_DESTROY, g.proto, g.synSent, this.detector.interest)
    );
  }

  private count(g: Glance): void {
    this.report.events++;
    this.noteSight(g.kind, g.flow, g.check);
    if (g.sec < 0) this.glancedUntimed = true;
    else if (g.sec > this.lastSec || (g.sec === this.lastSec && g.frac > this.lastFrac)) {
      this.lastSec = g.sec;
      this.lastFrac = g.frac;
      this.lastFracDigits = g.fracDigits;
    }
  }

  /** A line the byte reader dropped for its length. */
  overlongLine(maxBytes: number): void {
    this.lineNo++;
    this.report.lines++;
    this.noteError(`line longer than ${maxBytes} bytes`, '');
  }

  finish(): AnalysisReport {
    let last = this.last;
    if (this.lastSec >= 0) last = Math.max(last, glanceMs(this.lastSec, this.lastFrac, this.lastFracDigits));
    if (this.glancedUntimed) last = Math.max(last, this.fallbackNow);
    this.report.findings = this.detector.findings(last > 0 ? last : this.fallbackNow);
    return this.report;
  }

  private noteError(error: string, text: string): void {
    this.report.parse_errors++;
    if (this.report.first_errors.length < MAX_ERRORS_SHOWN)
      this.report.first_errors.push({ line: this.lineNo, error, text: text.slice(0, 200) });
  }

  private noteSight(kind: number, flow: number, check: number): void {
    if (this.seen.sight(flow, check, kind === GLANCE_DESTROY)) return;
    if (kind !== GLANCE_NEW) this.report.started_before_capture++;
  }
}

/** The whole capture at once (tests, small inputs); the CLI streams into ConntrackAnalysis instead. */
export function analyzeCapture(text: string, source: string, view: LanView, opts: AnalyzeOptions = {}): AnalysisReport {
  const analysis = new ConntrackAnalysis(source, view, opts);
  // Ended by a newline, as the glance needs.
  const buf = Buffer.from(text.endsWith('\n') ? text : `${text}\n`, 'utf8');
  let start = 0;
  for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
    analysis.line(buf, start, nl);
    start = nl + 1;
  }
  analysis.line(buf, start, buf.length);
  return analysis.finish();
}

/** Blank as String.trim() sees it, for the bytes a capture holds. */
function isBlankLine(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c !== 32 && !(c >= 9 && c <= 13)) return false;
  }
  return true;
}
