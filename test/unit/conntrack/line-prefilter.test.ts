// The pre-filter may only skip lines the detector would ignore anyway.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseConntrackLine } from '../../../src/conntrack/conntrack-line';
import { mayMatter } from '../../../src/conntrack/line-prefilter';
import { Detector } from '../../../src/detector/detector';
import { makeLanView } from '../../../src/detector/lan-view';
import { eventLines } from '../../bench/event-stream';

const GOLDEN = join(__dirname, '..', '..', 'golden', 'conntrack');
const real = readdirSync(GOLDEN)
  .filter((f) => f.endsWith('.txt') && !f.includes('xml') && !f.includes('save'))
  .flatMap((f) => readFileSync(join(GOLDEN, f), 'utf8').split('\n'))
  .filter((l) => l.trim() !== '');
const synthetic = eventLines({ events: 3000, flows: 500, hijackEvery: 50 });

function freshDetector() {
  const view = makeLanView(
    ['192.168.1.0/24', '192.168.50.0/24', 'fd00::/64'],
    ['192.168.1.2', '192.168.50.2'],
    [{ name: 'wg', host: '192.168.50.10', port: 51820, proto: 'udp' }],
    'test',
  );
  return new Detector(view, { maxFindings: 64, maxFlows: 64, problemHoldMs: 60_000 });
}

/** Feeds lines; for each line the filter skips, checks that ingesting it would have changed nothing. */
function check(lines: string[]): { skipped: number; parsed: number } {
  const d = freshDetector();
  let skipped = 0;
  let parsed = 0;
  for (const line of lines) {
    const r = parseConntrackLine(line);
    const bytes = Buffer.from(`  ${line}\n`);
    if (!mayMatter(bytes, 2, bytes.length - 1, d.interest)) {
      skipped++;
      if ('entry' in r) {
        const before = JSON.stringify([d.findings(0), d.counters()]);
        assert.equal(d.ingest(r.entry, line, 0), false, `skipped a line that mattered: ${line}`);
        assert.equal(JSON.stringify([d.findings(0), d.counters()]), before, line);
      }
      continue;
    }
    parsed++;
    if ('entry' in r) d.ingest(r.entry, line, 0);
  }
  return { skipped, parsed };
}

describe('mayMatter', () => {
  it('skips only lines the detector ignores, on real captures', () => {
    const { skipped, parsed } = check(real);
    assert.ok(skipped > 0 && parsed > 0);
  });

  it('skips most of a busy router stream, and nothing that mattered', () => {
    const { skipped, parsed } = check(synthetic);
    assert.ok(skipped > synthetic.length * 0.9, `skipped ${skipped} of ${synthetic.length}`);
    assert.ok(parsed >= 60, 'hijacks and their DESTROYs are parsed');
  });

  it('never skips wrongly on mutated lines', () => {
    const pool = [...real, ...synthetic.slice(0, 200)];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...pool), fc.nat(), fc.string({ maxLength: 8 })), { maxLength: 30 }),
        (items) => {
          check(
            items.map(
              ([l, at, junk]) => l.slice(0, at % (l.length + 1)) + junk + l.slice((at % (l.length + 1)) + junk.length),
            ),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never skips wrongly when the timestamp and event columns, read at their places, are not what they seem', () => {
    // The head "[sssssssssss.uuuuuu]\t    [NEW] " is read at fixed offsets: bytes of the kinds that
    // make up a head (digits, brackets, dots, blanks, letters of the event names), put anywhere in it.
    const heads = synthetic.slice(0, 300);
    const junk = fc.string({ unit: fc.constantFrom(...'[]. \t0123456789NEWUPDATESTROYx'.split('')), maxLength: 6 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...heads), fc.nat(30), junk), { maxLength: 30 }), (items) => {
        check(items.map(([l, at, j]) => l.slice(0, at) + j + l.slice(at + j.length)));
      }),
      { numRuns: 3000 },
    );
  });
});
