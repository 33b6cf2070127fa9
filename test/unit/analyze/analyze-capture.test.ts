// analyze on the real incident captures (test/golden/conntrack/incident-*.txt,
// made by capture-incident.ts in the lab): one hijack, healed by the guard. And
// the streaming analysis against the reports recorded before it
// (analysis-reports.json), read whole and in chunks of any size.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeCapture, ConntrackAnalysis } from '../../../src/analyze/analyze-capture';
import { makeLanView, PRIVATE_LAN_FALLBACK } from '../../../src/detector/lan-view';
import { ByteLineSplitter } from '../../../src/util/byte-line-splitter';
import { ANALYSIS_NOW, analysisInputs } from '../../golden/conntrack/analysis-inputs';

const GOLDEN = join(__dirname, '..', '..', 'golden', 'conntrack');
const captures = readdirSync(GOLDEN).filter((f) => f.startsWith('incident-') && f.endsWith('.txt'));

describe('analyze on real incident captures', () => {
  it('has captures for both rule backends and three formats', () => assert.equal(captures.length, 6));
  for (const name of captures) {
    it(name, () => {
      const text = readFileSync(join(GOLDEN, name), 'utf8');
      const view = makeLanView(PRIVATE_LAN_FALLBACK, [], [], 'test');
      const report = analyzeCapture(text, name, view);
      assert.equal(report.parse_errors, 0);
      const hijacks = report.findings.filter((f) => f.kind === 'reply_hijacked');
      assert.equal(hijacks.length, 1);
      const [h] = hijacks;
      assert.equal(h!.server, '192.168.50.10:443');
      assert.equal(h!.diverted_to, '192.168.50.2:7892');
      assert.equal(h!.count, 1);
      assert.deepEqual(h!.peers, ['203.0.113.50']);
      // The guarded connection afterwards passes: the hijack is resolved by healthy replies.
      assert.equal(h!.state, 'resolved');
      assert.ok(report.findings.some((f) => f.kind === 'asymmetric_reply' && f.server === '192.168.50.10:443'));
      // The server's own proxied connection (SYN_SENT) is not a finding.
      assert.ok(report.findings.every((f) => f.server === '192.168.50.10:443'));
    });
  }
});

describe('analyze reads captures as a stream, with the same reports as before', () => {
  const recorded = JSON.parse(readFileSync(join(GOLDEN, 'analysis-reports.json'), 'utf8')) as Record<string, unknown>;
  const inputs = analysisInputs();

  it('has a recorded report for every input', () => {
    assert.deepEqual(inputs.map((i) => i.name).sort(), Object.keys(recorded).sort());
  });

  for (const { name, text, view } of inputs) {
    it(`${name}: the recorded report, read whole`, () => {
      assert.deepEqual(analyzeCapture(text, name, view, { now: ANALYSIS_NOW }), recorded[name]);
    });

    it(`${name}: the recorded report, read in chunks of any size through the byte line reader`, async () => {
      const buf = Buffer.from(text);
      for (const size of [1, 7, 100, 65536])
        for (const bulk of [false, true]) {
          // bulk: the counted lines taken many at a time, each ended by its glance (as the CLI reads a file).
          const analysis = new ConntrackAnalysis(name, view, { now: ANALYSIS_NOW });
          const splitter = new ByteLineSplitter(
            (b, s, e) => analysis.line(b, s, e),
            8192,
            bulk ? (b, s) => analysis.lines(b, s) : undefined,
          );
          const done = new Promise((resolve) => splitter.on('finish', resolve));
          for (let i = 0; i < buf.length; i += size) splitter.write(buf.subarray(i, i + size));
          splitter.end();
          await done;
          assert.deepEqual(analysis.finish(), recorded[name], `chunks of ${size} bytes${bulk ? ', in bulk' : ''}`);
        }
    });
  }
});
