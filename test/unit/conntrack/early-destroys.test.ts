// The memory of DESTROY lines read before their NEW line (two pipes, no order between them).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EarlyDestroys } from '../../../src/conntrack/early-destroys';

const b = (s: string) => Buffer.from(s);
const DESTROY =
  '[1795565639.100054]\t[DESTROY] ipv4     2 tcp      6 src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=3141592653';

/** What noteLine took from a line: the time take() gives for `id`, or undefined. */
function noted(line: string, id: number, start = 0, end = line.length, buf = b(line)): number | undefined {
  const m = new EarlyDestroys();
  m.noteLine(buf, start, end);
  return m.take(id, 1795565639100);
}

describe('EarlyDestroys.noteLine', () => {
  it('reads the id at the end and the timestamp at the start', () => {
    assert.equal(noted(DESTROY, 3141592653), 1795565639100.054);
  });
  it('reads a line inside a larger buffer, with trailing blanks', () => {
    const buf = b(`xx\n${DESTROY}  \r\nyy`);
    assert.equal(noted(DESTROY, 3141592653, 3, 3 + DESTROY.length + 3, buf), 1795565639100.054);
  });
  it('notes nothing without a timestamp or without an id at the end', () => {
    const noTime = '[DESTROY] tcp      6 src=1.2.3.4 dst=5.6.7.8 sport=1 dport=2 id=7';
    assert.equal(noted(noTime, 7), undefined);
    for (const line of [
      '',
      'id=',
      ' id=x',
      `${DESTROY} mark=0`,
      DESTROY.replace(' id=', ' xid='),
      DESTROY.replace(' id=', ' valid='),
    ]) {
      assert.equal(noted(line, 3141592653), undefined, JSON.stringify(line));
    }
    assert.equal(
      noted(DESTROY.replace('id=3141592653', 'id=12345678901'), 12345678901 % 2 ** 32),
      undefined,
      'no 11-digit id',
    );
  });
  it('never throws on random bytes and notes only ids the line ends with (property)', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const alphabet = b('[]0123456789.id= \tDESTROY\n');
    for (let n = 0; n < 5000; n++) {
      const len = rnd() % 60;
      const buf = Buffer.alloc(len);
      for (let i = 0; i < len; i++) buf[i] = alphabet[rnd() % alphabet.length]!;
      const m = new EarlyDestroys(4);
      m.noteLine(buf, 0, len);
      const tail = /id=0*(\d{1,10})\s*$/.exec(buf.toString());
      if (!m.empty) assert.ok(tail, `noted from ${JSON.stringify(buf.toString())}`);
    }
  });
});

describe('EarlyDestroys', () => {
  it('gives a remembered time once, then forgets it', () => {
    const m = new EarlyDestroys();
    assert.equal(m.empty, true);
    m.note(11, 900);
    assert.equal(m.empty, false);
    assert.equal(m.take(11, 899.5), 900, 'the time it was destroyed');
    assert.equal(m.take(11, 899.5), undefined);
    assert.equal(m.take(12, 899.5), undefined);
    assert.equal(m.empty, true);
  });
  it('notes a DESTROY line by its id and conntrack timestamp; a line without either is ignored', () => {
    const m = new EarlyDestroys();
    m.noteLine(b(DESTROY), 0, DESTROY.length);
    const noTime = DESTROY.replace(/^\[[\d.]+\]\t/, '').replace('id=3141592653', 'id=5');
    m.noteLine(b(noTime), 0, noTime.length);
    const noId = DESTROY.replace(/ id=\d+$/, '').replace('1795565639', '1795565640');
    m.noteLine(b(noId), 0, noId.length);
    assert.equal(m.take(5, 1795565639100), undefined);
    assert.equal(m.take(3141592653, 1795565639100), 1795565639100.054);
    assert.equal(m.empty, true);
  });
  it('does not note an [ASSURED] entry (traffic both ways: no one-way reply)', () => {
    const m = new EarlyDestroys();
    const assured = `${DESTROY.replace(/ id=\d+$/, '')} [ASSURED] id=77`;
    m.noteLine(b(assured), 0, assured.length);
    assert.equal(m.empty, true);
    const unreplied = DESTROY.replace(' src=192.168.50.2', ' [UNREPLIED] src=192.168.50.2').replace(/id=\d+$/, 'id=78');
    m.noteLine(b(unreplied), 0, unreplied.length);
    assert.equal(m.take(78, 1795565639100), 1795565639100.054);
  });

  it('ignores a DESTROY stamped further than its age limit from the NEW, either way', () => {
    const m = new EarlyDestroys(4, 5000);
    m.note(1, 1000);
    assert.equal(m.take(1, 7000), undefined);
    m.note(2, 9000);
    assert.equal(m.take(2, 3000), undefined);
    assert.equal(m.empty, true);
  });
  it('keeps ids up to 2^32 - 1 apart from their slot neighbours', () => {
    const m = new EarlyDestroys(4);
    m.note(4294967295, 1);
    assert.equal(m.take(15, 1), undefined, 'same slot, other id');
    assert.equal(m.take(4294967295, 1), 1);
  });
  it('holds a fixed number of slots: a colliding id replaces the older one', () => {
    const m = new EarlyDestroys(2); // 4 slots
    for (let id = 1; id <= 8; id++) m.note(id, id);
    for (let id = 1; id <= 4; id++) assert.equal(m.take(id, 10), undefined, `id ${id} was replaced`);
    for (let id = 5; id <= 8; id++) assert.equal(m.take(id, 10), id);
    assert.equal(m.empty, true);
  });
});
