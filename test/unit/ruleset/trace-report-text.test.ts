// A trace report as JSON and as text: the captured REDIRECT trace against the
// empty ruleset (explain disagrees about the mid-stream ACK).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { traceReport } from '../../../src/ruleset/trace-report';
import { renderTraceReport, traceReportJson } from '../../../src/ruleset/trace-report-text';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';

const GOLDEN = join(__dirname, '..', '..', 'golden');
const snap = makeSnapshot(readDumpDir(join(GOLDEN, 'rulesets', 'empty')));
const OUTPUT = readFileSync(join(GOLDEN, 'trace', 'nft-redirect-guard-toggle.txt'), 'utf8');
const report = (port = 443) =>
  traceReport(snap, OUTPUT, { server: { ip: '192.168.50.10', port }, proto: 'tcp', table: 'inet replyguard_trace' });

describe('traceReportJson', () => {
  it('has the run, the verdict and each kind with its path and explain', () => {
    const doc = traceReportJson(report(), { seconds: 3, removed: true }) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), [
      'server',
      'proto',
      'seconds',
      'table',
      'table_removed',
      'packets',
      'legacy_iptables',
      'agree',
      'kinds',
      'fingerprint',
    ]);
    assert.equal(doc.server, '192.168.50.10:443');
    assert.equal(doc.table_removed, true);
    assert.equal(doc.agree, false);
    const kinds = doc.kinds as { kind: string; example: { path: { handle?: number }[] }; explain: unknown }[];
    assert.deepEqual(
      kinds.map((k) => k.kind),
      ['synack', 'ack', 'rst'],
    );
    assert.deepEqual(
      kinds[1]!.example.path.map((h) => h.handle),
      [4, 7],
      'the path leaves out the trace table',
    );
    assert.equal(kinds[2]!.explain, null);
  });

  it('says nothing about agreement when no kind was compared', () => {
    const doc = traceReportJson(report(444), { seconds: 3, removed: true }) as Record<string, unknown>;
    assert.equal(doc.packets, 0);
    assert.equal(doc.agree, null);
  });
});

describe('renderTraceReport', () => {
  it('shows each kind, the verdicts, how to report the disagreement and whether the table is gone', () => {
    const text = renderTraceReport(report(), { seconds: 3, removed: false });
    assert.match(text, /^Traced 9 replies of 192\.168\.50\.10:443\/tcp in 3 s:/);
    assert.match(text, /\nSYN-ACK \(2×\).*\n.*no firewall rule matched it[\s\S]*explain AGREES with the kernel/);
    assert.match(text, /\n {4}inet fw4 openclash \(handle 7\): ip protocol tcp counter redirect to :7892 → accept\n/);
    assert.match(text, /explain DISAGREES: explain says the packet is forwarded/);
    assert.match(text, /replyguard trace --server 192\.168\.50\.10:443 --proto tcp --json/);
    assert.match(
      text,
      /Trace table inet replyguard_trace NOT removed — run: nft delete table inet replyguard_trace\.\n$/,
    );
  });

  it('says how to get replies when none were seen', () => {
    const text = renderTraceReport(report(444), { seconds: 3, removed: true });
    assert.match(text, /^No replies of 192\.168\.50\.10:444\/tcp to a non-private address passed this router in 3 s\./);
    assert.doesNotMatch(text, /Trace table/);
  });
});
