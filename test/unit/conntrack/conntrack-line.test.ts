import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseConntrackLine } from '../../../src/conntrack/conntrack-line';
import { assertGolden } from '../../helpers/golden';

const GOLDEN = join(__dirname, '..', '..', 'golden', 'conntrack');

function parsed(line: string) {
  const r = parseConntrackLine(line);
  assert.ok('entry' in r, `expected an entry for ${line}: ${JSON.stringify(r)}`);
  return r.entry;
}

describe('conntrack line parser: golden captures', () => {
  const inputs = readdirSync(GOLDEN).filter((f) => f.endsWith('.txt'));
  it('has captures to check', () => assert.ok(inputs.length >= 8));
  for (const name of inputs) {
    it(name, () => {
      const lines = readFileSync(join(GOLDEN, name), 'utf8').split('\n');
      const results = lines.filter((l) => l.trim() !== '').map((l) => parseConntrackLine(l));
      assert.equal(
        results.filter((r) => 'error' in r).length,
        0,
        `unreadable lines: ${JSON.stringify(results.filter((r) => 'error' in r))}`,
      );
      assertGolden(join(GOLDEN, name.replace(/\.txt$/, '.expected.json')), results);
    });
  }
});

describe('conntrack line parser: the incident', () => {
  it('reads the hijacked reply of mechanics.md', () => {
    const e = parsed(
      '[NEW] ipv4 2 tcp 6 300 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443',
    );
    assert.equal(e.event, 'NEW');
    assert.equal(e.family, 'ipv4');
    assert.equal(e.proto, 'tcp');
    assert.equal(e.state, 'ESTABLISHED');
    assert.equal(e.timeout, 300);
    assert.deepEqual(e.orig, { src: '192.168.50.10', dst: '203.0.113.50', sport: 443, dport: 35660 });
    assert.deepEqual(e.reply, { src: '192.168.50.2', dst: '192.168.50.10', sport: 7892, dport: 443 });
    assert.equal(e.unreplied, true);
  });

  it('reads timestamp, id, mark and zone', () => {
    const e = parsed(
      '[1795565639.820496]\t    [NEW] ipv6     10 tcp      6 120 SYN_SENT src=fd00::10 dst=2001:db8::5 sport=443 dport=5000 [UNREPLIED] src=2001:db8::5 dst=fd00::10 sport=5000 dport=443 mark=354 zone=3 id=4185485937',
    );
    assert.equal(e.timestamp, 1795565639.820496);
    assert.equal(e.id, 4185485937);
    assert.equal(e.mark, 354);
    assert.equal(e.zone, 3);
    assert.equal(e.family, 'ipv6');
  });

  it('keeps the ICMP id apart from the conntrack id', () => {
    const e = parsed(
      '    [NEW] ipv4     2 icmp     1 30 src=127.0.0.1 dst=127.0.0.1 type=8 code=0 id=5329 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 type=0 code=0 id=5329 id=1303806289',
    );
    assert.equal(e.orig.icmpId, 5329);
    assert.equal(e.reply.icmpType, 0);
    assert.equal(e.reply.icmpId, 5329);
    assert.equal(e.id, 1303806289);
  });

  it('reads DESTROY lines and unknown protocols', () => {
    const d = parsed(
      '[DESTROY] tcp      6 CLOSE src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443',
    );
    assert.equal(d.event, 'DESTROY');
    assert.equal(d.timeout, undefined);
    assert.equal(d.state, 'CLOSE');
    const g = parsed(' [NEW] unknown  47 599 src=10.0.0.1 dst=198.51.100.1 [UNREPLIED] src=198.51.100.1 dst=10.0.0.1');
    assert.equal(g.proto, 'unknown');
    assert.equal(g.protoNum, 47);
    assert.equal(g.orig.sport, undefined);
  });

  it('reads the save format', () => {
    const e = parsed(
      '-A -t 300 -u UNSET -s 192.168.50.10 -d 203.0.113.50 -r 192.168.50.2 -q 192.168.50.10 -p tcp --sport 443 --dport 35660 --reply-port-src 7892 --reply-port-dst 443 --state ESTABLISHED',
    );
    assert.equal(e.event, 'NEW');
    assert.equal(e.unreplied, true);
    assert.deepEqual(e.reply, { src: '192.168.50.2', dst: '192.168.50.10', sport: 7892, dport: 443 });
  });

  it('names what is wrong with a bad line', () => {
    const cases: Array<[string, RegExp]> = [
      ['[NEW] tcp 6 120 SYN_SENT', /no original tuple/],
      ['[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=5.6.7.8 sport=1 dport=2', /no reply tuple/],
      ['[BOGUS] tcp 6 120 src=1.2.3.4', /unknown event tag/],
      ['-A -s 1.2.3.4', /without -s\/-d/],
      ['<flow type="new"><meta direction="original">', /truncated/],
    ];
    for (const [line, re] of cases) {
      const r = parseConntrackLine(line);
      assert.ok('error' in r, line);
      assert.match(r.error, re);
    }
  });

  it('skips headers and the closing count', () => {
    for (const line of ['', '<?xml version="1.0" encoding="utf-8"?>', '<conntrack>', '</conntrack>']) {
      assert.ok('skip' in parseConntrackLine(line), line);
    }
    assert.ok('skip' in parseConntrackLine('conntrack v1.4.7 (conntrack-tools): 9 flow events have been shown.'));
  });
});

describe('conntrack line parser: never throws', () => {
  const samples = readdirSync(GOLDEN)
    .filter((f) => f.endsWith('.txt'))
    .flatMap((f) => readFileSync(join(GOLDEN, f), 'utf8').split('\n'))
    .filter((l) => l.trim() !== '');

  it('on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const r = parseConntrackLine(s);
        assert.ok('entry' in r || 'error' in r || 'skip' in r);
      }),
      { numRuns: 5000 },
    );
  });

  it('on truncated and mutated real lines', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.nat(),
        fc.nat(),
        fc.string({ maxLength: 12 }),
        (line, cut, at, junk) => {
          const truncated = line.slice(0, cut % (line.length + 1));
          const pos = at % (line.length + 1);
          const mutated = line.slice(0, pos) + junk + line.slice(pos + junk.length);
          for (const l of [truncated, mutated]) {
            const r = parseConntrackLine(l);
            assert.ok('entry' in r || 'error' in r || 'skip' in r);
            if ('entry' in r) {
              assert.equal(typeof r.entry.orig.src, 'string');
              assert.equal(typeof r.entry.reply.dst, 'string');
            }
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});
