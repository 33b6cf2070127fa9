// analyze on the real incident captures (test/golden/conntrack/incident-*.txt,
// made by capture-incident.ts in the lab): one hijack, healed by the guard.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeCapture } from '../../src/analyze/analyze-capture';
import { makeLanView, PRIVATE_LAN_FALLBACK } from '../../src/detector/lan-view';

const GOLDEN = join(__dirname, '..', 'golden', 'conntrack');
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
