// Shared pieces of the parser fuzz tests: a fixed seed, a time
// bound per input, and arbitraries that mutate real golden inputs — text
// (truncate, drop/duplicate/swap lines, flip characters, numbers made huge,
// negative or NaN-like, words replaced by names that collide with
// Object.prototype) and JSON (any node replaced by a value of the wrong type,
// deep nesting, objects whose toString is not a function).
//
// The seed is fixed so that a failure is reproducible; fast-check prints it
// (and the shrunk counterexample) in the failure message. FUZZ_SEED=<n>
// runs with another seed, FUZZ_SCALE=<x> multiplies every numRuns.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';

export const GOLDEN = join(__dirname, '..', 'golden');

export const SEED = Number(process.env.FUZZ_SEED ?? 0x2e8d_1f08);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

/**
 * Upper bound for one parser call: a hang detector, not a speed measure (`npm run bench` measures speed).
 * Typical calls take < 1 ms; the 8k-prefix dump ~60 ms alone, and once 202 ms on the shared 2-core CI
 * machine under load, so 200 ms was too tight. A blow-up (backtracking, quadratic lookups on the big
 * inputs below) takes seconds.
 */
export const MAX_MS_PER_INPUT = 1000;

/** fc.assert with the fixed seed and a scaled run count. */
export function check<Ts extends [unknown, ...unknown[]]>(prop: fc.IProperty<Ts>, numRuns: number): void {
  fc.assert(prop, { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)), includeErrorInReport: true });
}

/** Runs fn once, asserts it took less than MAX_MS_PER_INPUT, returns its result (or rethrows). */
export function timed<T>(label: string, fn: () => T): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    const ms = performance.now() - t0;
    assert.ok(ms < MAX_MS_PER_INPUT, `${label}: one input took ${ms.toFixed(1)} ms (bound ${MAX_MS_PER_INPUT} ms)`);
  }
}

export function golden(...parts: string[]): string {
  return readFileSync(join(GOLDEN, ...parts), 'utf8');
}

/** Every golden ruleset directory holding `file`, as [dir, text]. */
export function goldenRulesetFiles(file: string, maxBytes = 64 * 1024): Array<[string, string]> {
  const dir = join(GOLDEN, 'rulesets');
  const out: Array<[string, string]> = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    let text: string;
    try {
      text = readFileSync(join(dir, d.name, file), 'utf8');
    } catch {
      continue;
    }
    if (text.length <= maxBytes) out.push([d.name, text]);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Text

/** Names that are properties of every plain object: a parser that indexes `{}` with input text trips on them. */
export const POISON_WORDS = [
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'prototype',
  'length',
  'name',
];

/** Numbers as a hostile or broken tool might print them. */
export const ODD_NUMBERS = [
  '0',
  '-1',
  '-0',
  '4294967296',
  '18446744073709551616',
  '99999999999999999999999999',
  '1e309',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x',
  '0xffffffffffffffffff',
  '1.5',
  '٣',
  '',
];

const JUNK = [
  '\n',
  '\r\n',
  '\t',
  ' ',
  '"',
  "'",
  '\\',
  '[',
  ']',
  '{',
  '}',
  '(',
  ')',
  '<',
  '>',
  '/',
  '=',
  ':',
  ',',
  ';',
  '#',
  '-',
  '--',
  '!',
  '@',
  '\u0000',
  '\ufeff',
  '\ud800',
  '€',
  '$(touch /tmp/x)',
];

const junk = fc.oneof(
  fc.constantFrom(...JUNK, ...POISON_WORDS, ...ODD_NUMBERS),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

export type TextOp =
  | { op: 'truncate'; at: number }
  | { op: 'drop-line' | 'dup-line'; at: number }
  | { op: 'swap-lines'; at: number; other: number }
  | { op: 'flip'; at: number; char: number }
  | { op: 'insert' | 'replace'; at: number; len: number; piece: string }
  | { op: 'number'; which: number; piece: string }
  | { op: 'word'; which: number; piece: string }
  | { op: 'repeat'; at: number; len: number; times: number };

const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constantFrom('drop-line' as const, 'dup-line' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap-lines' as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), char: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({
    op: fc.constantFrom('insert' as const, 'replace' as const),
    at: fc.nat(),
    len: fc.nat({ max: 16 }),
    piece: junk,
  }),
  fc.record({ op: fc.constant('number' as const), which: fc.nat(), piece: fc.constantFrom(...ODD_NUMBERS) }),
  fc.record({ op: fc.constant('word' as const), which: fc.nat(), piece: junk }),
  fc.record({
    op: fc.constant('repeat' as const),
    at: fc.nat(),
    len: fc.nat({ max: 40 }),
    times: fc.nat({ max: 200 }),
  }),
);

function nthMatch(text: string, re: RegExp, which: number): RegExpExecArray | undefined {
  const all = [...text.matchAll(re)];
  return all.length > 0 ? all[which % all.length] : undefined;
}

export function applyTextOp(text: string, m: TextOp): string {
  const at = m.op === 'number' || m.op === 'word' ? 0 : m.at % (text.length + 1);
  switch (m.op) {
    case 'truncate':
      return text.slice(0, at);
    case 'drop-line':
    case 'dup-line': {
      const lines = text.split('\n');
      const i = m.at % lines.length;
      if (m.op === 'dup-line') lines.splice(i, 0, lines[i]!);
      else lines.splice(i, 1);
      return lines.join('\n');
    }
    case 'swap-lines': {
      const lines = text.split('\n');
      const i = m.at % lines.length;
      const j = m.other % lines.length;
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
    case 'flip':
      return text.slice(0, at) + String.fromCharCode(m.char) + text.slice(at + 1);
    case 'insert':
      return text.slice(0, at) + m.piece + text.slice(at);
    case 'replace':
      return text.slice(0, at) + m.piece + text.slice(at + m.len);
    case 'number': {
      const hit = nthMatch(text, /\d+/g, m.which);
      return hit ? text.slice(0, hit.index) + m.piece + text.slice(hit.index + hit[0].length) : text;
    }
    case 'word': {
      const hit = nthMatch(text, /[A-Za-z_][A-Za-z0-9_-]*/g, m.which);
      return hit ? text.slice(0, hit.index) + m.piece + text.slice(hit.index + hit[0].length) : text;
    }
    case 'repeat': {
      const part = text.slice(at, at + m.len);
      return text.slice(0, at) + part.repeat(m.times) + text.slice(at);
    }
  }
}

/** A golden text (one of samples) with 1-maxOps mutations applied. */
export function mutatedText(samples: readonly string[], maxOps = 5): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...samples), fc.array(textOp, { minLength: 1, maxLength: maxOps }))
    .map(([text, ops]) => ops.reduce(applyTextOp, text));
}

/** Random text: any code units, or a soup of the characters parsers split on. */
export function randomText(maxLength = 400): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme-ascii', maxLength }),
    fc.array(junk, { maxLength: 60 }).map((p) => p.join('')),
  );
}

// ---------------------------------------------------------------------------
// JSON

/** A JSON object whose toString/valueOf are not functions: String(x) and `${x}` throw on it. */
export const UNPRINTABLE = JSON.parse('{"toString": 1, "valueOf": 2}') as unknown;

/** Values of the wrong type for wherever they land. */
export function oddJson(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom<unknown>(
      null,
      [],
      {},
      '',
      'x',
      0,
      -1,
      1.5,
      1e300,
      -1e300,
      true,
      false,
      '@',
      '__proto__',
      'constructor',
      'NaN',
      UNPRINTABLE,
      JSON.parse('{"__proto__": {"polluted": 1}}'),
      JSON.parse('{"constructor": {"prototype": {"polluted": 1}}}'),
      { constructor: 'x' },
      [null],
      [[]],
      [{}],
    ),
    fc.jsonValue({ maxDepth: 3 }),
    fc.nat({ max: 200 }).map((depth) => nest(depth)),
  );
}

/** [[[…[1]…]]] and {"concat":[{"concat":[…]}]} alternately, `depth` levels deep. */
export function nest(depth: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { concat: [v] };
  return v;
}

/** The JSON text of nest(depth, leaf), built as text: JSON.stringify itself overflows on very deep values. */
export function nestText(depth: number, leaf = '1'): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open = i % 2 === 0 ? `${open}[` : `${open}{"concat":[`;
    close = i % 2 === 0 ? `]${close}` : `]}${close}`;
  }
  return open + leaf + close;
}

/** Paths to every node of a JSON value (arrays by index, objects by key). */
function paths(v: unknown, out: (string | number)[][] = [], here: (string | number)[] = []): (string | number)[][] {
  out.push(here);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) paths(v[i], out, [...here, i]);
  } else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) paths(x, out, [...here, k]);
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  let node = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  Object.defineProperty(node, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

export type JsonOp =
  | { op: 'replace'; which: number; value: unknown }
  | { op: 'delete'; which: number }
  | { op: 'wrap'; which: number; asArray: boolean }
  | { op: 'dup'; which: number };

const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('replace' as const), which: fc.nat(), value: oddJson() }) },
  fc.record({ op: fc.constant('delete' as const), which: fc.nat() }),
  fc.record({ op: fc.constant('wrap' as const), which: fc.nat(), asArray: fc.boolean() }),
  fc.record({ op: fc.constant('dup' as const), which: fc.nat() }),
);

/** Applies JSON mutations to a deep copy of doc (given as its JSON text) and returns the new text. */
export function applyJsonOps(docText: string, ops: readonly JsonOp[]): string {
  let doc: unknown = JSON.parse(docText);
  for (const m of ops) {
    const all = paths(doc);
    const path = all[m.which % all.length]!;
    let node: unknown = doc;
    for (const k of path) node = (node as Record<string | number, unknown>)[k];
    // A copy: the generated value may be a shared constant, and later ops write into the document.
    if (m.op === 'replace') doc = setAt(doc, path, JSON.parse(JSON.stringify(m.value)));
    else if (m.op === 'wrap') doc = setAt(doc, path, m.asArray ? [node] : { x: node });
    else if (m.op === 'dup') doc = setAt(doc, path, [node, node]);
    else if (path.length > 0) {
      const parentPath = path.slice(0, -1);
      let parent: unknown = doc;
      for (const k of parentPath) parent = (parent as Record<string | number, unknown>)[k];
      const key = path[path.length - 1]!;
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, unknown>)[key as string];
    }
  }
  return JSON.stringify(doc);
}

/** A golden JSON document with 1-maxOps structural mutations, sometimes then cut or flipped as text. */
export function mutatedJson(samples: readonly string[], maxOps = 3): fc.Arbitrary<string> {
  const structural = fc
    .tuple(fc.constantFrom(...samples), fc.array(jsonOp, { minLength: 1, maxLength: maxOps }))
    .map(([text, ops]) => applyJsonOps(text, ops));
  return fc.oneof({ weight: 3, arbitrary: structural }, mutatedText(samples, 2));
}

// ---------------------------------------------------------------------------
// Shapes

export function assertIssues(issues: unknown): void {
  assert.ok(Array.isArray(issues), 'issues is an array');
  for (const i of issues as Array<Record<string, unknown>>) {
    assert.ok(i.severity === 'error' || i.severity === 'warning', `severity ${String(i.severity)}`);
    assert.equal(typeof i.source, 'string');
    assert.equal(typeof i.message, 'string');
    assert.ok((i.message as string).length > 0, 'an issue says something');
  }
}

/** Nothing a parser did may have added properties to Object.prototype. */
export function assertNoPollution(): void {
  const probe = {} as Record<string, unknown>;
  for (const k of ['polluted', 'skipped', 'size', 'elements', 'rules', 'comments', 'x'])
    assert.equal(probe[k], undefined, `Object.prototype.${k} was set`);
}
