// The bounded timeline and the link from a finding to the ruleset change before it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changeLinkText, durationText, Timeline } from '../../../src/status/timeline';

const T0 = Date.parse('2026-11-25T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('Timeline', () => {
  it('keeps the newest entries up to its cap and counts what it drops', () => {
    const t = new Timeline(3);
    for (let i = 0; i < 5; i++) t.add({ at: iso(T0 + i * 1000), kind: 'finding_opened', summary: `f${i}` });
    assert.deepEqual(
      t.entries().map((e) => e.summary),
      ['f2', 'f3', 'f4'],
    );
    assert.equal(t.evicted, 2);
  });

  it('keeps time order when an entry arrives late', () => {
    const t = new Timeline(10);
    t.add({ at: iso(T0 + 2000), kind: 'ruleset_changed', summary: 'b' });
    t.add({ at: iso(T0 + 1000), kind: 'finding_opened', summary: 'a' });
    t.add({ at: iso(T0 + 3000), kind: 'finding_cleared', summary: 'c' });
    assert.deepEqual(
      t.entries().map((e) => e.summary),
      ['a', 'b', 'c'],
    );
  });

  it('links a finding to the latest ruleset change at or before it', () => {
    const t = new Timeline(10);
    t.add({
      at: iso(T0),
      kind: 'ruleset_changed',
      summary: "OpenClash (fw4)'s rules changed (chain openclash (inet fw4): +2 rules)",
    });
    t.add({ at: iso(T0 + 60_000), kind: 'finding_opened', summary: 'x' });
    t.add({ at: iso(T0 + 120_000), kind: 'ruleset_changed', summary: 'the ruleset changed (routes: +1 route)' });
    assert.equal(t.latestChangeBefore(T0 - 1), undefined);
    assert.equal(t.linkText(T0 - 1), undefined);
    assert.equal(t.linkText(T0 + 180_000), 'first seen 60 s after the ruleset changed (routes: +1 route)');
    assert.equal(
      t.linkText(T0 + 80_000),
      "first seen 80 s after OpenClash (fw4)'s rules changed (chain openclash (inet fw4): +2 rules)",
    );
  });

  it('formats durations for people', () => {
    assert.equal(durationText(45_000), '45 s');
    assert.equal(durationText(180_000), '3 min');
    assert.equal(durationText(3 * 3600_000), '3 h');
    assert.equal(durationText(4 * 86400_000), '4 days');
    assert.equal(
      changeLinkText({ at: iso(T0), kind: 'ruleset_changed', summary: 'the ruleset changed' }, T0 + 180_000),
      'first seen 3 min after the ruleset changed',
    );
  });
});
