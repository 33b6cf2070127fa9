// The per-line logic of the two conntrack children, without processes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CtEntry } from '../../../src/conntrack/conntrack-entry';
import { EventLineReader } from '../../../src/conntrack/event-line-reader';

const NEW =
  '[1795565639.100000]\t    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=11';
const DESTROY =
  '[1795565639.103400]\t[DESTROY] ipv4     2 tcp      6 src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=11';
const OWN =
  '[1795565639.100000]\t    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=192.168.50.20 dst=203.0.113.9 sport=50000 dport=443 [UNREPLIED] src=203.0.113.9 dst=192.168.50.20 sport=443 dport=50000 id=12';

function reader(now = 1795565639_200) {
  const entries: Array<{ e: CtEntry; at: number }> = [];
  const errors: string[] = [];
  const r = new EventLineReader({
    interest: { trackedServers: new Map(), udpPorts: new Set() },
    onEntry: (e, _l, at) => entries.push({ e, at }),
    onParseError: (_l, err) => errors.push(err),
    now: () => now,
  });
  const feed = (stream: 'NEW' | 'DESTROY', line: string) => {
    const b = Buffer.from(`xx${line}yy`);
    r.read(stream, b, 2, b.length - 2);
  };
  return { r, entries, errors, feed };
}

describe('EventLineReader', () => {
  it('follows a NEW with the DESTROY read before it, once, with the DESTROY’s time', () => {
    const { r, entries, feed } = reader();
    feed('DESTROY', DESTROY);
    assert.equal(entries.length, 0, 'nobody tracked the flow yet: the pre-filter drops the line');
    feed('NEW', NEW);
    assert.deepEqual(
      entries.map((x) => x.e.event),
      ['NEW', 'DESTROY'],
    );
    assert.ok(Math.abs(entries[1]!.at - entries[0]!.at - 3.4) < 1e-3, `${entries[1]!.at - entries[0]!.at} ms`);
    feed('NEW', NEW);
    assert.deepEqual(
      entries.map((x) => x.e.event),
      ['NEW', 'DESTROY', 'NEW'],
      'the DESTROY is taken once',
    );
    assert.deepEqual(r.counts, { events: 2, destroyEvents: 1, parseErrors: 0 });
  });

  it('does not follow when conntrack stamped the DESTROY more than 5 s before the NEW (an id reused)', () => {
    const entries: string[] = [];
    const r = new EventLineReader({ onEntry: (e) => entries.push(e.event), onParseError: () => {} });
    const b = (l: string) => Buffer.from(l);
    r.read('DESTROY', b(DESTROY), 0, DESTROY.length);
    const later = NEW.replace('[1795565639.100000]', '[1795565645.100000]');
    r.read('NEW', b(later), 0, later.length);
    assert.deepEqual(entries, ['DESTROY', 'NEW']);
  });

  it('counts, but neither decodes nor passes on, what the pre-filter drops; a stream passes only its kind', () => {
    const { r, entries, feed } = reader();
    feed('NEW', OWN);
    feed('DESTROY', NEW);
    feed('NEW', DESTROY.replace('[DESTROY]', '[UPDATE]'));
    assert.deepEqual(entries, []);
    assert.deepEqual(r.counts, { events: 2, destroyEvents: 1, parseErrors: 0 });
  });

  it('counts and reports a line it cannot read', () => {
    const { r, errors, feed } = reader();
    feed('NEW', '[1795565639.100000]\t    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=999.1.1.1 dst=x');
    assert.equal(r.counts.parseErrors, 1);
    assert.equal(errors.length, 1);
  });
});
