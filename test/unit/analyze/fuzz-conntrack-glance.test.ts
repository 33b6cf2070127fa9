// Fuzz: the byte glance of `analyze` (conntrack-glance.ts) against the parser.
// Whenever the glance reads a line, the parser reads it too, as the same event
// kind, at the same time, with the same flow hash — so counting a line from its
// bytes alone says what parsing it would. Lines: every golden capture line and
// the bench's generated ones, mutated (characters flipped, words replaced,
// numbers made odd, truncated).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  flowHash,
  GLANCE_DESTROY,
  GLANCE_NEW,
  GLANCE_UPDATE,
  type Glance,
  glanceLine,
  glanceMs,
} from '../../../src/analyze/conntrack-glance';
import { parseConntrackLine } from '../../../src/conntrack/conntrack-line';
import { mayMatter, tupleMayMatter } from '../../../src/conntrack/line-prefilter';
import { eventLines } from '../../bench/event-stream';
import { check, GOLDEN, mutatedText } from '../../helpers/fuzz-kit';

const CT_DIR = join(GOLDEN, 'conntrack');
const LINES = [
  ...readdirSync(CT_DIR)
    .filter((f) => f.endsWith('.txt'))
    .flatMap((f) => readFileSync(join(CT_DIR, f), 'utf8').split('\n')),
  ...eventLines({ events: 200, flows: 50, hijackEvery: 20, seed: 11 }),
].filter((l) => l.trim() !== '');

function agrees(line: string): boolean {
  // A line as the glance reads it: ended by a newline.
  const buf = Buffer.from(`${line}\n`);
  const g: Glance = {
    kind: -1,
    flow: 0,
    check: 0,
    sec: -1,
    frac: 0,
    fracDigits: 0,
    srcAt: -1,
    proto: -1,
    synSent: false,
    end: 0,
  };
  const ok = glanceLine(buf, 0, g);
  if (ok) assert.equal(g.end, buf.length - 1, line);
  // Read from a chunk that goes on past the line, the glance finds the line's end itself and reads the same.
  const chunk = Buffer.concat([buf, Buffer.from('[1.5] [NEW] tcp 6 src=1 dst=2 src=2 dst=1\n')]);
  const f: Glance = { ...g, end: -1 };
  assert.equal(glanceLine(chunk, 0, f), ok, `chunk: ${line}`);
  if (ok) assert.deepEqual(f, g, line);
  // Without a newline in the buffer, it reads nothing (it would not know where the line ends).
  assert.equal(glanceLine(buf.subarray(0, buf.length - 1), 0, { ...g }), false, line);
  if (!ok) return false;
  const r = parseConntrackLine(line);
  assert.ok('entry' in r, `glanced but the parser says ${JSON.stringify(r)}: ${line}`);
  const e = r.entry;
  const kind = e.event === 'UPDATE' ? GLANCE_UPDATE : e.event === 'DESTROY' ? GLANCE_DESTROY : GLANCE_NEW;
  assert.equal(g.kind, kind, line);
  const h: Glance = { ...g };
  flowHash(h, e.proto, e.orig.src, e.orig.dst, e.orig.sport, e.orig.dport);
  assert.deepEqual([g.flow, g.check], [h.flow, h.check], line);
  if (e.timestamp === undefined) assert.equal(g.sec, -1, line);
  else assert.equal(glanceMs(g.sec, g.frac, g.fracDigits), e.timestamp * 1000, line);
  return true;
}

describe('fuzz: analyze glances at conntrack lines as the parser reads them', () => {
  it('reads the plain text lines of the golden captures and the bench stream', () => {
    const plain = LINES.filter((l) => !l.startsWith('<') && !l.startsWith('-'));
    const read = plain.filter(agrees).length;
    // Every plain event line of a real capture is read from its bytes (that is where the speed comes from).
    assert.equal(read, plain.length);
    // The pre-filter decides from the head the glance read as it does from the line itself.
    const quiet = { trackedServers: new Map<string, number>(), udpPorts: new Set<number>() };
    const busy = {
      trackedServers: new Map([
        ['192.168.1.10', 1],
        ['192.168.50.10', 1],
      ]),
      udpPorts: new Set([53, 51820]),
    };
    for (const line of plain) {
      const buf = Buffer.from(`${line}\n`);
      const g: Glance = {
        kind: -1,
        flow: 0,
        check: 0,
        sec: -1,
        frac: 0,
        fracDigits: 0,
        srcAt: -1,
        proto: -1,
        synSent: false,
        end: 0,
      };
      assert.ok(glanceLine(buf, 0, g));
      const end = buf.length - 1;
      for (const interest of [quiet, busy]) {
        if (g.kind === GLANCE_UPDATE) continue;
        const fromHead = tupleMayMatter(buf, g.srcAt, end, g.kind === GLANCE_DESTROY, g.proto, g.synSent, interest);
        assert.equal(fromHead, mayMatter(buf, 0, end, interest), line);
      }
    }
  });

  it('mutated lines: 2,000 inputs, whatever it reads the parser reads the same', () => {
    let read = 0;
    check(
      fc.property(mutatedText(LINES, 3), (text) => {
        for (const line of text.split('\n')) if (agrees(line)) read++;
      }),
      2000,
    );
    assert.ok(read > 100, `only ${read} mutated lines were read: the property tested little`);
  });

  it('a byte the parser may cut a word at (\\v, \\f, a Unicode space) leaves the line to the parser', () => {
    const base =
      '[1.5] [NEW] ipv4 2 tcp 6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=443 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=443 dport=1000';
    const odd = [
      base.replace('ipv4 2 tcp', 'ipv4 2\vx tcp'), // the parser takes x for the protocol
      `${base} x\vsrc=10.0.0.3`, // a third src= for the parser
      `${base} x\fsrc=10.0.0.3`,
      `${base} x\u00a0src=10.0.0.3`,
      base.replace(' dst=10.0.0.1', ' x\u2003dst=10.0.0.1'),
    ];
    for (const line of odd) {
      const r = parseConntrackLine(line);
      const read = agrees(line);
      // Read from its bytes only when the parser reads it too (agrees() asserts the rest).
      assert.ok(!read || 'entry' in r, line);
    }
    assert.equal(agrees(odd[0]!), false);
    assert.equal(agrees(odd[1]!), false);
    assert.equal(agrees(odd[3]!), false);
    assert.equal(agrees(base), true);
  });

  it('different flows hash apart and the same flow alike, across event kinds', () => {
    const g = (l: string) => {
      const out: Glance = {
        kind: -1,
        flow: 0,
        check: 0,
        sec: -1,
        frac: 0,
        fracDigits: 0,
        srcAt: -1,
        proto: -1,
        synSent: false,
        end: 0,
      };
      assert.ok(glanceLine(Buffer.from(`${l}\n`), 0, out), l);
      return `${out.flow} ${out.check}`;
    };
    const a = g(
      '[1.5] [NEW] tcp 6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=443 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=443 dport=1000',
    );
    const b = g(
      '[2.5] [DESTROY] tcp 6 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=1000 [ASSURED]',
    );
    const c = g(
      '[2.5] [DESTROY] tcp 6 src=10.0.0.1 dst=10.0.0.2 sport=1001 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=1001 [ASSURED]',
    );
    assert.equal(a, b);
    assert.notEqual(a, c);
  });
});
