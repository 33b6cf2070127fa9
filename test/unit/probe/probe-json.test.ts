// Reading `nft -j list table inet replyguard` (pure parser), against real
// captures from the lab (test/golden/probe/, nftables 1.0.6: the probe table
// after one TLS attempt and one UDP exchange through the forward), and fuzzed.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parsePrefix } from '../../../src/net/ip-address';
import { parseProbeDump } from '../../../src/probe/probe-json';
import { probeComment, probeRules } from '../../../src/probe/probe-rules';
import { sampleFromDump } from '../../../src/probe/probe-sample';
import { loadNftJson } from '../../../src/ruleset/nft-json';
import { assertGolden } from '../../helpers/golden';

const DIR = join(__dirname, '..', '..', 'golden', 'probe');
const SETS = { in: ['in4'], out: ['out4'] };
const RULES = probeRules({
  lan: [parsePrefix('192.168.50.0/24')!],
  udpForwards: [{ host: '192.168.50.10', port: 51820 }],
  intervalS: 2,
  setSize: 4096,
});

function load(name: string) {
  const dump = parseProbeDump(readFileSync(join(DIR, name), 'utf8'));
  assert.ok(!('error' in dump), JSON.stringify(dump));
  return dump;
}

/** [proto, server port, in, out] per flow, sorted. */
function flows(name: string) {
  return sampleFromDump(load(name), SETS, 0, 1)
    .flows.map((f) => [f.proto, f.serverPort, f.in, f.out])
    .sort();
}

describe('parseProbeDump on real captures', () => {
  for (const mode of ['none', 'nft-redirect', 'nft-tproxy', 'tun']) {
    it(`list-table-${mode}.json parses as its golden`, () => {
      assertGolden(join(DIR, `list-table-${mode}.expected.json`), load(`list-table-${mode}.json`));
    });
  }

  it('shows the measured pattern per mode: no proxy n/n, REDIRECT 3/2, TPROXY and TUN n/0', () => {
    assert.deepEqual(flows('list-table-none.json'), [
      ['tcp', 443, 7, 7],
      ['udp', 51820, 1, 1],
    ]);
    assert.deepEqual(flows('list-table-nft-redirect.json'), [
      ['tcp', 443, 3, 2],
      ['udp', 51820, 1, 1],
    ]);
    assert.deepEqual(flows('list-table-nft-tproxy.json'), [
      ['tcp', 443, 5, 0],
      ['udp', 51820, 1, 0],
    ]);
    assert.deepEqual(flows('list-table-tun.json'), [
      ['tcp', 443, 5, 0],
      ['udp', 51820, 1, 0],
    ]);
  });

  it('reads the chains, their rule counts and the fingerprint comments of the installed table', () => {
    const dump = load('list-table-nft-tproxy.json');
    assert.deepEqual(Object.keys(dump.chains).sort(), ['post', 'pre']);
    assert.equal(dump.chains.pre?.rules, RULES.chainRules.pre);
    assert.deepEqual(dump.chains.pre?.comments, [probeComment(RULES.fingerprint)]);
    assert.equal(dump.sets.in4?.size, 4096);
    const el = dump.sets.in4?.elements.find((e) => e.proto === 'tcp');
    assert.deepEqual(el, {
      proto: 'tcp',
      server: '192.168.50.10',
      serverPort: 443,
      peer: '203.0.113.50',
      peerPort: el?.peerPort,
      packets: 5,
    });
  });

  it('reads `nft -j list set` output too (one set)', () => {
    const dump = parseProbeDump(readFileSync(join(DIR, 'list-set-in4-nft-tproxy.json'), 'utf8'), 'replyguard');
    // A set listing has no table object: it is not a table dump.
    assert.ok('error' in dump);
  });
});

describe("the probe's own table in the ruleset model", () => {
  it('loads without a loader message (explain and the ruleset watch read it on every router)', () => {
    const { issues, tables } = loadNftJson(readFileSync(join(DIR, 'list-table-nft-tproxy.json'), 'utf8'));
    assert.deepEqual(issues, []);
    const post = tables.find((t) => t.name === 'replyguard')!.chains.find((c) => c.name === 'post')!;
    assert.ok(post.rules.some((r) => /meta oiftype ether/.test(r.text)));
  });
});

describe('parseProbeDump edge cases', () => {
  const table = { table: { family: 'inet', name: 'replyguard', handle: 7 } };
  const set = (elem: unknown[], extra = {}) => ({
    set: { family: 'inet', name: 'in4', table: 'replyguard', size: 2, elem, ...extra },
  });
  const text = (...items: unknown[]) => JSON.stringify({ nftables: [{ metainfo: {} }, ...items] });
  const good = (port: number, packets: number) => ({
    elem: { val: { concat: ['192.168.50.10', 'tcp', port, '203.0.113.50', 4000] }, counter: { packets, bytes: 1 } },
  });

  it('reports missing tables and broken JSON as errors', () => {
    assert.ok('error' in parseProbeDump(''));
    assert.ok('error' in parseProbeDump('{"nftables": 3}'));
    assert.ok('error' in parseProbeDump(text()));
    assert.ok('error' in parseProbeDump(text({ table: { family: 'inet', name: 'fw4', handle: 1 } })));
  });

  it('skips foreign tables and elements of other shapes, counting what it skipped', () => {
    const dump = parseProbeDump(
      text(
        table,
        { set: { family: 'inet', name: 'in4', table: 'fw4', elem: [good(1, 1)] } },
        set([
          good(443, 3),
          { elem: { val: { concat: ['192.168.50.10', 'tcp', 443] }, counter: { packets: 1 } } },
          { elem: { val: { concat: ['x', 'tcp', 443, '203.0.113.50', 1] }, counter: { packets: 1 } } },
          { elem: { val: { concat: ['192.168.50.10', 'icmp', 443, '203.0.113.50', 1] }, counter: { packets: 1 } } },
          { elem: { val: { concat: ['192.168.50.10', 'tcp', 70000, '203.0.113.50', 1] }, counter: { packets: 1 } } },
          { elem: { val: { concat: ['192.168.50.10', 'tcp', 443, '203.0.113.50', 1] } } },
          '192.168.50.10',
        ]),
      ),
    );
    assert.ok(!('error' in dump));
    assert.equal(dump.tableHandle, 7);
    assert.equal(dump.sets.in4?.elements.length, 1);
    assert.equal(dump.sets.in4?.skipped, 6);
  });

  it('reads numeric protocols and canonicalises IPv6 addresses', () => {
    const dump = parseProbeDump(
      text(
        table,
        set([{ elem: { val: { concat: ['FD50:0::10', 17, 27015, '2001:DB8::7', 5] }, counter: { packets: 2 } } }]),
      ),
    );
    assert.ok(!('error' in dump));
    assert.deepEqual(dump.sets.in4?.elements, [
      { proto: 'udp', server: 'fd50::10', serverPort: 27015, peer: '2001:db8::7', peerPort: 5, packets: 2 },
    ]);
  });

  it('sampleFromDump joins in and out by flow and notices a set at its cap', () => {
    const dump = parseProbeDump(
      text(table, set([good(1, 3), good(2, 1)]), {
        set: { family: 'inet', name: 'out4', table: 'replyguard', size: 10, elem: [good(1, 3)] },
      }),
    );
    assert.ok(!('error' in dump));
    const sample = sampleFromDump(dump, SETS, 5, 2);
    assert.equal(sample.inFull, true);
    assert.equal(sample.outFull, false);
    assert.deepEqual(
      sample.flows.map((f) => [f.serverPort, f.in, f.out]),
      [
        [1, 3, 3],
        [2, 1, 0],
      ],
    );
    assert.deepEqual(Object.keys(sample.flows[0]!).sort(), [
      'in',
      'out',
      'peer',
      'peerPort',
      'proto',
      'server',
      'serverPort',
    ]);
  });

  it('never throws, whatever the text (fuzz)', () => {
    const golden = readFileSync(join(DIR, 'list-table-nft-redirect.json'), 'utf8');
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseProbeDump(s);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        parseProbeDump(JSON.stringify(v));
        parseProbeDump(JSON.stringify({ nftables: [table, v, set([v])] }));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.nat(golden.length), fc.nat(golden.length), fc.string({ maxLength: 3 }), (at, len, ins) => {
        parseProbeDump(golden.slice(0, at) + ins + golden.slice(at + (len % 20)));
      }),
      { numRuns: 500 },
    );
  });
});
