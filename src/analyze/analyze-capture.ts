// `replyguard analyze`: the same parser and detector as the daemon, run once
// over a saved capture. Pure: text in, report out.

import type { CtEntry } from '../conntrack/conntrack-entry';
import { parseConntrackLine } from '../conntrack/conntrack-line';
import { Detector } from '../detector/detector';
import type { Finding } from '../detector/finding';
import type { LanView } from '../detector/lan-view';
import { LruMap } from '../detector/lru-map';

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

const MAX_ERRORS_SHOWN = 20;

export function analyzeCapture(text: string, source: string, view: LanView, holdMs = 900_000): AnalysisReport {
  const detector = new Detector(view, { maxFindings: 4096, maxFlows: 65536, problemHoldMs: holdMs });
  const seen = new LruMap<string, true>(262144);
  const report: AnalysisReport = {
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
  const fallbackNow = Date.now();
  let last = 0;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    report.lines++;
    const result = parseConntrackLine(line);
    if ('skip' in result) continue;
    if ('error' in result) {
      report.parse_errors++;
      if (report.first_errors.length < MAX_ERRORS_SHOWN) {
        report.first_errors.push({ line: n + 1, error: result.error, text: line.slice(0, 200) });
      }
      continue;
    }
    report.events++;
    const entry = result.entry;
    noteFirstSight(entry, seen, report);
    const at = entry.timestamp !== undefined ? entry.timestamp * 1000 : fallbackNow;
    last = Math.max(last, at);
    detector.ingest(entry, line, at);
  }
  report.findings = detector.findings(last || fallbackNow);
  return report;
}

function noteFirstSight(entry: CtEntry, seen: LruMap<string, true>, report: AnalysisReport): void {
  const key = `${entry.proto} ${entry.orig.src} ${entry.orig.sport} ${entry.orig.dst} ${entry.orig.dport}`;
  if (seen.has(key)) {
    if (entry.event === 'DESTROY') seen.delete(key);
    return;
  }
  if (entry.event === 'UPDATE' || entry.event === 'DESTROY') report.started_before_capture++;
  if (entry.event !== 'DESTROY') seen.set(key, true);
}
