// LruMap against a plain reference model: random sets, gets, deletes and peeks
// keep the same keys in the same order, evict the same keys, and count them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LruMap } from '../../../src/util/lru-map';
import { check } from '../../helpers/fuzz-kit';

/** The obvious LRU: an array, oldest first. */
class ModelLru {
  keys: number[] = [];
  values = new Map<number, number>();
  evicted: number[] = [];
  constructor(readonly cap: number) {}
  set(k: number, v: number): void {
    if (this.values.has(k)) this.keys = this.keys.filter((x) => x !== k);
    else if (this.keys.length >= this.cap && this.keys.length > 0) {
      const old = this.keys.shift()!;
      this.values.delete(old);
      this.evicted.push(old);
    }
    this.keys.push(k);
    this.values.set(k, v);
  }
  get(k: number): number | undefined {
    const v = this.values.get(k);
    if (v !== undefined) {
      this.keys = this.keys.filter((x) => x !== k);
      this.keys.push(k);
    }
    return v;
  }
  delete(k: number): boolean {
    if (!this.values.has(k)) return false;
    this.keys = this.keys.filter((x) => x !== k);
    return this.values.delete(k);
  }
}

const op = fc.oneof(
  fc.record({ op: fc.constant('set' as const), k: fc.nat(40), v: fc.nat() }),
  fc.record({ op: fc.constant('get' as const), k: fc.nat(40) }),
  fc.record({ op: fc.constant('delete' as const), k: fc.nat(40) }),
  fc.record({ op: fc.constant('peek' as const), k: fc.nat(40) }),
);

describe('LruMap', () => {
  it('behaves as the reference LRU under random sets, gets, deletes and peeks', () => {
    check(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 400 }), (cap, ops) => {
        const evicted: number[] = [];
        const lru = new LruMap<number, number>(cap, (k) => evicted.push(k));
        const model = new ModelLru(cap);
        for (const o of ops) {
          if (o.op === 'set') {
            lru.set(o.k, o.v);
            model.set(o.k, o.v);
          } else if (o.op === 'get') assert.equal(lru.get(o.k), model.get(o.k));
          else if (o.op === 'delete') assert.equal(lru.delete(o.k), model.delete(o.k));
          else assert.equal(lru.peek(o.k), model.values.get(o.k));
          assert.equal(lru.size, model.keys.length);
        }
        assert.deepEqual(
          [...lru.entries()].map(([k]) => k),
          model.keys,
        );
        assert.deepEqual(evicted, model.evicted);
        assert.equal(lru.evicted, model.evicted.length);
      }),
      300,
    );
  });

  it('evicts the oldest key after the map was emptied and refilled', () => {
    const lru = new LruMap<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3); // evicts a
    lru.delete('b');
    lru.delete('c');
    lru.set('d', 4);
    lru.set('e', 5);
    lru.set('f', 6); // evicts d
    assert.deepEqual(
      [...lru.entries()],
      [
        ['e', 5],
        ['f', 6],
      ],
    );
    assert.equal(lru.evicted, 2);
  });
});
