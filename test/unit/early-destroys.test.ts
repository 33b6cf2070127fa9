// The memory of DESTROY lines read before their NEW line (two pipes, no order between them).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EarlyDestroys, lineIdOf, lineTimeMsOf } from '../../src/conntrack/early-destroys';

const b = (s: string) => Buffer.from(s);
const DESTROY =
  '[1795565639.100054]\t[DESTROY] ipv4     2 tcp      6 src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=3141592653';

describe('lineIdOf, lineTimeMsOf', () => {
  it('read the id at the end and the timestamp at the start', () => {
    assert.equal(lineIdOf(b(DESTROY), 0, DESTROY.length), 3141592653);
    assert.equal(lineTimeMsOf(b(DESTROY), 0, DESTROY.length), 1795565639100.054);
  });
  it('read a line inside a larger buffer, with trailing blanks', () => {
    const buf = b(`xx\n${DESTROY}  \r\nyy`);
    const start = 3;
    const end = start + DESTROY.length + 3;
    assert.equal(lineIdOf(buf, start, end), 3141592653);
    assert.equal(lineTimeMsOf(buf, start, end), 1795565639100.054);
  });
  it('give no time when the line has no timestamp', () => {
    for (const line of ['[DESTROY] tcp 6 src=1.2.3.4 id=7', '[]', '[.5]', '']) {
      assert.ok(Number.isNaN(lineTimeMsOf(b(line), 0, line.length)), line);
    }
    const line = '[DESTROY] tcp      6 src=1.2.3.4 dst=5.6.7.8 sport=1 dport=2 id=7';
    assert.equal(lineIdOf(b(line), 0, line.length), 7);
  });
  it('give -1 when the line does not end in an id', () => {
    for (const line of [
      '',
      'id=',
      ' id=x',
      '[DESTROY] tcp 6 src=1.2.3.4 mark=0',
      'xid=12',
      'valid=12',
      '12345',
      'id=12345678901',
    ]) {
      assert.equal(lineIdOf(b(line), 0, line.length), -1, JSON.stringify(line));
    }
  });
  it('never throw on random bytes (property)', () => {
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
      const id = lineIdOf(buf, 0, len);
      if (id >= 0) {
        assert.ok(Number.isInteger(id) && id < 1e10, String(id));
        assert.match(buf.toString(), new RegExp(`id=0*${id}\\s*$`));
      }
      const t = lineTimeMsOf(buf, 0, len);
      assert.ok(Number.isNaN(t) || (t >= 0 && Number.isFinite(t)), String(t));
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
