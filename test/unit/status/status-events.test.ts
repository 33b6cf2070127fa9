import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../../../src/detector/finding';
import { statusEvents } from '../../../src/status/status-events';
import type { StatusDocument } from '../../../src/status/status-schema';

function doc(findings: Partial<Finding>[]): StatusDocument {
  return {
    updated_at: '2026-11-25T00:00:00.000Z',
    findings: findings.map((f) => ({
      id: 'hijack-tcp-192.168.50.10-443',
      kind: 'reply_hijacked',
      state: 'active',
      server: '192.168.50.10:443',
      forward: 'nas',
      summary: 's',
      last_seen: '2026-11-25T00:00:00.000Z',
      ...f,
    })),
    guard: { mode: 'off', state: 'not_needed', summary: 's', rules: 0, applies: 0, last_apply: null },
  } as StatusDocument;
}

describe('statusEvents', () => {
  it('reports a hijack once, when it becomes active', () => {
    const a = doc([]);
    const b = doc([{}]);
    assert.deepEqual(
      statusEvents(a, b).map((e) => [e.event_type, e.forward]),
      [['hijack_detected', 'nas']],
    );
    assert.deepEqual(statusEvents(b, doc([{ count: 2 }])), []);
  });

  it('reports the clearing when it resolves or disappears', () => {
    const b = doc([{}]);
    assert.deepEqual(
      statusEvents(b, doc([{ state: 'resolved' }])).map((e) => e.event_type),
      ['hijack_cleared'],
    );
    assert.deepEqual(
      statusEvents(b, doc([])).map((e) => e.event_type),
      ['hijack_cleared'],
    );
  });

  it('ignores asymmetric findings', () => {
    assert.deepEqual(statusEvents(undefined, doc([{ kind: 'asymmetric_reply', id: 'asym' }])), []);
  });
});
