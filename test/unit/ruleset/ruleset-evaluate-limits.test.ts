// The evaluator on rulesets the kernel accepts but a naive walk cannot finish
// (test/fixtures/attacks/evaluator-*): thousands of matching rules without a
// verdict (one call per rule overflowed the stack), chains that jump into each
// other on 4^13 paths (the walk of a chain from the same state is reused), and
// the same where every path differs (a budget of rule visits ends in an honest
// "undetermined"). Reusing walks must never change a result.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { evaluatePacket, MAX_PATH_HOPS, MAX_RULE_VISITS } from '../../../src/ruleset/evaluate';
import { modelPacket, type PacketSpec } from '../../../src/ruleset/packet';
import { makeSnapshot, type RulesetSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';

const ATTACKS = join(__dirname, '..', '..', 'fixtures', 'attacks');

const REPLY: PacketSpec = {
  proto: 'tcp',
  src: '192.168.1.10',
  sport: 443,
  dst: '203.0.113.50',
  dport: 40000,
  iif: 'br-lan',
  flags: 'ack',
};

function packet(s: RulesetSnapshot) {
  const p = modelPacket(REPLY, s.ruleset.tcpLoose === undefined ? {} : { tcpLoose: s.ruleset.tcpLoose });
  assert.notEqual(typeof p, 'string');
  return p as Exclude<typeof p, string>;
}

const fixture = (name: string) => makeSnapshot(readDumpDir(join(ATTACKS, name)));

describe('evaluator limits (attack fixtures)', () => {
  it('3,000 matching rules without a verdict, then a redirect: proxied, no stack overflow, the path cut and said so', () => {
    const s = fixture('evaluator-deep-chain');
    const e = evaluatePacket(s.compiled, packet(s));
    assert.equal(e.verdict, 'proxied', e.reasons.join('\n'));
    assert.equal(e.certain, true);
    assert.equal(e.responsible?.position, 3001);
    assert.ok(e.path.length <= MAX_PATH_HOPS + 1, `${e.path.length} hops`);
    assert.ok(e.notes.some((n) => /the path shows the first 256 rules met; \d+ more are left out/.test(n)));
  });

  it('13 chains each jumping 4 times to the next: each chain walked once per state, a certain verdict', {
    timeout: 20_000,
  }, () => {
    const s = fixture('evaluator-jump-fanout');
    const e = evaluatePacket(s.compiled, packet(s));
    assert.equal(e.verdict, 'forwarded', e.reasons.join('\n'));
    assert.equal(e.certain, true);
  });

  it('…and when every path reaches the next chain in another state: an honest "undetermined" at the budget', {
    timeout: 20_000,
  }, () => {
    const s = fixture('evaluator-jump-fanout-marks');
    const e = evaluatePacket(s.compiled, packet(s));
    assert.equal(e.verdict, 'undetermined');
    assert.equal(e.certain, false);
    assert.ok(
      e.reasons.some((r) => r.includes(`evaluation stopped after ${MAX_RULE_VISITS} rule visits`)),
      e.reasons.join('\n'),
    );
  });
});

describe('reusing the walk of a chain changes no result', () => {
  const CHAINS = ['PREROUTING', 'c1', 'c2', 'c3', 'c4'];
  const target = fc.constantFrom('c1', 'c2', 'c3', 'c4');
  const mark = fc.constantFrom('0x0', '0x1', '0x2', '0x3');
  const rule = fc.oneof(
    target.map((t) => `-p tcp -j ${t}`),
    fc.tuple(mark, target).map(([m, t]) => `-m mark --mark ${m} -j ${t}`),
    fc.tuple(mark, mark).map(([v, m]) => `-j MARK --set-xmark ${v}/${m}`),
    mark.map((m) => `-m mark --mark ${m} -j RETURN`),
    target.map((t) => `-m socket -j ${t}`),
    fc.constantFrom('-j ACCEPT', '-j DROP', '-p tcp -j TPROXY --on-port 7893 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1'),
  );
  const ruleset = fc.array(fc.tuple(fc.constantFrom(...CHAINS), rule), { minLength: 1, maxLength: 24 });

  it('same verdict, path, reasons and outcomes with and without reuse (random jumping rulesets)', () => {
    fc.assert(
      fc.property(ruleset, (rules) => {
        const text = [
          '*mangle',
          ':PREROUTING ACCEPT [0:0]',
          ':INPUT ACCEPT [0:0]',
          ':FORWARD ACCEPT [0:0]',
          ':OUTPUT ACCEPT [0:0]',
          ':POSTROUTING ACCEPT [0:0]',
          ...CHAINS.slice(1).map((c) => `:${c} - [0:0]`),
          ...rules.map(([c, r]) => `-A ${c} ${r}`),
          'COMMIT',
          '',
        ].join('\n');
        const s = makeSnapshot({
          iptablesSave: text,
          ipRule: JSON.stringify([
            { priority: 0, src: 'all', table: 'local' },
            { priority: 100, src: 'all', fwmark: '0x1', fwmask: '0x1', table: '100' },
            { priority: 32766, src: 'all', table: 'main' },
          ]),
          ipRoute: JSON.stringify([
            { type: 'local', dst: 'default', dev: 'lo', table: '100' },
            { dst: 'default', gateway: '192.168.1.1', dev: 'br-lan' },
          ]),
        });
        const p = packet(s);
        const without = evaluatePacket(s.compiled, p, { reuseWalks: false });
        const withReuse = evaluatePacket(s.compiled, p);
        // Where a limit stops the walk depends on the order of the work: those runs are not compared.
        const limited = (r: string) => r.includes('rule visits') || r.includes('undecidable matches');
        fc.pre(!without.reasons.some(limited) && !withReuse.reasons.some(limited));
        const strip = (e: typeof without) => JSON.parse(JSON.stringify({ ...e, ruleVisits: 0 }));
        assert.deepEqual(strip(withReuse), strip(without), text);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('skipping the rules of other source addresses changes no result', () => {
  const host = fc.integer({ min: 1, max: 12 }).map((n) => `192.168.1.${n}`);
  const rule = fc.oneof(
    fc.tuple(host, fc.constantFrom('RETURN', 'ACCEPT', 'DROP', 'c1')).map(([h, t]) => `-s ${h}/32 -p tcp -j ${t}`),
    fc.tuple(host, fc.integer({ min: 440, max: 445 })).map(([h, p]) => `-s ${h} -p tcp --sport ${p} -j RETURN`),
    host.map((h) => `! -s ${h}/32 -j MARK --set-xmark 0x2/0x2`),
    fc.constantFrom(
      '-m mark --mark 0x2 -j RETURN',
      '-p tcp -j TPROXY --on-port 7893 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1',
      '-s 192.168.1.0/24 -j c1',
    ),
  );
  it('same result with and without the index (chains of 32-80 rules, mostly per host)', () => {
    fc.assert(
      fc.property(
        fc.array(rule, { minLength: 32, maxLength: 80 }),
        host,
        fc.integer({ min: 440, max: 445 }),
        (rules, src, sport) => {
          const text = [
            '*mangle',
            ':PREROUTING ACCEPT [0:0]',
            ':INPUT ACCEPT [0:0]',
            ':FORWARD ACCEPT [0:0]',
            ':OUTPUT ACCEPT [0:0]',
            ':POSTROUTING ACCEPT [0:0]',
            ':c1 - [0:0]',
            ...rules.map((r) => `-A PREROUTING ${r}`),
            '-A c1 -p tcp -j MARK --set-xmark 0x4/0x4',
            'COMMIT',
            '',
          ].join('\n');
          const s = makeSnapshot({ iptablesSave: text });
          const p = modelPacket({ ...REPLY, src, sport }, {});
          assert.notEqual(typeof p, 'string');
          const pk = p as Exclude<typeof p, string>;
          const plain = evaluatePacket(s.compiled, pk, { indexSources: false });
          const indexed = evaluatePacket(s.compiled, pk);
          assert.ok(indexed.ruleVisits <= plain.ruleVisits);
          const strip = (e: typeof plain) => JSON.parse(JSON.stringify({ ...e, ruleVisits: 0 }));
          assert.deepEqual(strip(indexed), strip(plain), text);
        },
      ),
      { numRuns: 300 },
    );
  });
});
