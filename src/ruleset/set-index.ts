// Membership of a runtime value in a model value (a literal, a range, an
// anonymous or named set), three-valued. Large sets get an index: addresses
// in a PrefixIndex, numbers in sorted intervals.

import type { Value } from './model';
import { type IpValue, PrefixIndex, prefixBounds } from './prefix-set';

/** What the evaluator reads from a packet: a number, a name, an address, or a tuple (concatenations). */
export type Rt = number | string | IpValue | Rt[];

export type Tri = 0 | 1 | 2; // 0 false, 1 true, 2 maybe
export const F: Tri = 0;
export const T: Tri = 1;
export const M: Tri = 2;

export function not(t: Tri): Tri {
  return t === M ? M : t === T ? F : T;
}

function isIp(v: Rt): v is IpValue {
  return typeof v === 'object' && !Array.isArray(v);
}

function cmpIp(a: IpValue, b: IpValue): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

const boundsCache = new WeakMap<Value, { lo: IpValue; hi: IpValue } | null>();
function prefixRange(v: Extract<Value, { kind: 'prefix' }>): { lo: IpValue; hi: IpValue } | null {
  let b = boundsCache.get(v);
  if (b === undefined) {
    b = prefixBounds(`${v.addr}/${v.bits}`);
    boundsCache.set(v, b);
  }
  return b;
}

/** Does the scalar value v equal/contain the runtime value x? */
export function contains(v: Value, x: Rt): Tri {
  switch (v.kind) {
    case 'num':
      return typeof x === 'number' && x === v.n ? T : F;
    case 'str':
      if (typeof x !== 'string') return F;
      if (v.s.endsWith('*')) return x.startsWith(v.s.slice(0, -1)) ? T : F;
      return x === v.s ? T : F;
    case 'prefix': {
      if (!isIp(x)) return F;
      const b = prefixRange(v);
      return b && cmpIp(b.lo, x) <= 0 && cmpIp(x, b.hi) <= 0 ? T : F;
    }
    case 'range': {
      if (typeof x === 'number' && v.lo.kind === 'num' && v.hi.kind === 'num')
        return x >= v.lo.n && x <= v.hi.n ? T : F;
      if (isIp(x) && v.lo.kind === 'prefix' && v.hi.kind === 'prefix') {
        const lo = prefixRange(v.lo);
        const hi = prefixRange(v.hi);
        return lo && hi && cmpIp(lo.lo, x) <= 0 && cmpIp(x, hi.hi) <= 0 ? T : F;
      }
      return F;
    }
    case 'concat': {
      if (!Array.isArray(x) || x.length !== v.parts.length) return F;
      let out: Tri = T;
      for (let i = 0; i < v.parts.length; i++) {
        const t = contains(v.parts[i]!, x[i]!);
        if (t === F) return F;
        if (t === M) out = M;
      }
      return out;
    }
    case 'set':
      return inElements(v.elements, x, v);
    case 'setref':
      return M; // resolved by the evaluator
  }
}

interface Index {
  ips: PrefixIndex;
  nums: { lo: number; hi: number }[];
  strs: Set<string>;
  wild: string[];
  /** Elements the index cannot hold (concatenations …): checked one by one. */
  rest: Value[];
}

const indexCache = new WeakMap<object, Index>();

function buildIndex(elements: Value[]): Index {
  const idx: Index = { ips: new PrefixIndex(), nums: [], strs: new Set(), wild: [], rest: [] };
  for (const e of elements) {
    if (e.kind === 'prefix') {
      const b = prefixRange(e);
      if (b) idx.ips.addRange(b.lo, b.hi);
    } else if (e.kind === 'range' && e.lo.kind === 'prefix' && e.hi.kind === 'prefix') {
      const lo = prefixRange(e.lo);
      const hi = prefixRange(e.hi);
      if (lo && hi) idx.ips.addRange(lo.lo, hi.hi);
    } else if (e.kind === 'num') idx.nums.push({ lo: e.n, hi: e.n });
    else if (e.kind === 'range' && e.lo.kind === 'num' && e.hi.kind === 'num')
      idx.nums.push({ lo: e.lo.n, hi: e.hi.n });
    else if (e.kind === 'str') {
      if (e.s.endsWith('*')) idx.wild.push(e.s.slice(0, -1));
      else idx.strs.add(e.s);
    } else idx.rest.push(e);
  }
  idx.nums.sort((a, b) => a.lo - b.lo);
  return idx;
}

/** Membership in a list of elements; `owner` keys the index cache (the set or the anonymous set value). */
export function inElements(elements: Value[], x: Rt, owner: object): Tri {
  if (elements.length <= 8) {
    let out: Tri = F;
    for (const e of elements) {
      const t = contains(e, x);
      if (t === T) return T;
      if (t === M) out = M;
    }
    return out;
  }
  let idx = indexCache.get(owner);
  if (!idx) {
    idx = buildIndex(elements);
    indexCache.set(owner, idx);
  }
  if (isIp(x)) {
    if (idx.ips.has(x)) return T;
  } else if (typeof x === 'number') {
    const n = idx.nums;
    let a = 0;
    let b = n.length - 1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (n[m]!.lo <= x) a = m + 1;
      else b = m - 1;
    }
    // Intervals may overlap: scan back while a start is ≤ x (short in practice).
    for (let i = b; i >= 0 && i > b - 64; i--) if (x <= n[i]!.hi) return T;
  } else if (typeof x === 'string') {
    if (idx.strs.has(x)) return T;
    if (idx.wild.some((w) => x.startsWith(w))) return T;
  }
  let out: Tri = F;
  for (const e of idx.rest) {
    const t = contains(e, x);
    if (t === T) return T;
    if (t === M) out = M;
  }
  return out;
}
