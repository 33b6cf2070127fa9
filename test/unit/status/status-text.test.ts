// `replyguard status` text: the MQTT output is shown under outputs, and a
// status file written before outputs existed still reads.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildStatus, type StatusInputs } from '../../../src/status/status-document';
import type { StatusDocument } from '../../../src/status/status-schema';
import { renderStatusText } from '../../../src/status/status-text';

const NOW = Date.parse('2026-11-25T00:30:00Z');

function input(extra: Partial<StatusInputs> = {}): StatusInputs {
  return {
    version: '0',
    nodeId: 'unit',
    startedAt: NOW - 60_000,
    now: NOW,
    conntrack: { state: 'running', events: 0, lost: 0, resyncs: 0, restarts: 0, parse_errors: 0 },
    lostRecently: false,
    lan: { interfaces: ['br-lan'], subnets: ['192.168.1.0/24'], source: 'br-lan', router_addresses: [] },
    forwards: [],
    findings: [],
    counters: { candidates: 0, hijackedReplies: 0, flowsTracked: 0, flowsEvicted: 0, findingsEvicted: 0 },
    problemHoldS: 900,
    ...extra,
  };
}

describe('renderStatusText: outputs', () => {
  it('shows MQTT with its broker and last error, and leaves out a disabled one', () => {
    const failed = buildStatus(
      input({
        outputs: { mqtt: { state: 'failed', broker: 'mqtt://broker:1883', last_error: 'refused the login' } },
      }),
    );
    assert.equal(failed.health, 'ok', 'an output never changes health');
    assert.match(
      renderStatusText(failed, NOW, 90),
      /^Outputs: MQTT failed \(mqtt:\/\/broker:1883\) — last error: refused the login$/m,
    );
    const disabled = buildStatus(input());
    assert.deepEqual(disabled.outputs, { mqtt: { state: 'disabled' } });
    assert.doesNotMatch(renderStatusText(disabled, NOW, 90), /Outputs|MQTT/);
  });

  it('reads a status file that has no outputs (MQTT then sat under sensors)', () => {
    const { outputs: _, ...old } = buildStatus(input());
    const text = renderStatusText({ ...old, schema: 1 } as unknown as StatusDocument, NOW, 90);
    assert.match(text, /^replyguard 0 on unit: OK$/m);
    assert.doesNotMatch(text, /Outputs/);
  });
});
