// FlowSightings against a Set of the same pairs: random adds, lookups, deletes
// and one-probe sightings (many flows sharing a home slot, so that probe runs wrap and shift),
// and the cap: never more flows than it, the forgotten ones counted.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FlowSightings } from '../../../src/analyze/flow-sightings';
import { check } from '../../helpers/fuzz-kit';

const pair = fc.record({ flow: fc.oneof(fc.nat(40), fc.nat(0x3fffffff)), check: fc.nat(3) });
const op = fc.record({
  op: fc.constantFrom('add' as const, 'has' as const, 'delete' as const, 'sight' as const, 'sightEnd' as const),
  p: pair,
});

describe('FlowSightings', () => {
  it('answers as a Set of (flow, check) pairs while under its cap', () => {
    check(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const set = new FlowSightings(100_000);
        const model = new Set<string>();
        for (const { op: o, p } of ops) {
          const k = `${p.flow} ${p.check}`;
          if (o === 'add') {
            if (!model.has(k)) {
              set.add(p.flow, p.check);
              model.add(k);
            }
          } else if (o === 'sight') {
            // One probe: seen before, else added.
            assert.equal(set.sight(p.flow, p.check, false), model.has(k));
            model.add(k);
          } else if (o === 'sightEnd') assert.equal(set.sight(p.flow, p.check, true), model.delete(k));
          else if (o === 'has') assert.equal(set.has(p.flow, p.check), model.has(k));
          else assert.equal(set.delete(p.flow, p.check), model.delete(k));
          assert.equal(set.size, model.size);
        }
        for (const k of model) {
          const [f, c] = k.split(' ').map(Number);
          assert.ok(set.has(f!, c!), k);
        }
      }),
      300,
    );
  });

  it('keeps at most cap flows and counts the ones it forgot', () => {
    const set = new FlowSightings(1000);
    for (let f = 0; f < 5000; f++) set.add((f * 2654435761) & 0x3fffffff, f & 3);
    assert.equal(set.size, 1000);
    assert.equal(set.forgotten, 4000);
    let kept = 0;
    for (let f = 0; f < 5000; f++) if (set.has((f * 2654435761) & 0x3fffffff, f & 3)) kept++;
    assert.equal(kept, 1000);
  });
});
