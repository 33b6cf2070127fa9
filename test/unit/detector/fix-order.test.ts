// orderFixes, the one order every output shows fixes in: the ruleset's fixes before the detector's
// guesses, the proxy's own setting before the guard, the guessed guard and access list dropped once the
// ruleset named the chain and the proxy, a repeated command dropped; equal ranks keep their order.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Fix, type FixKind, orderFixes, uciLine } from '../../../src/detector/fix';

const fix = (kind: FixKind, basis: Fix['basis'], text: string, command?: string[]): Fix => ({
  kind,
  proxy: kind === 'proxy_setting' ? 'openclash' : 'none',
  text,
  ...(command ? { command } : {}),
  basis,
});

describe('orderFixes', () => {
  it('puts the ruleset first and drops what it made exact', () => {
    const detector = [
      fix('mangle_guard', 'detector', 'guessed guard'),
      fix('proxy_setting', 'detector', 'access list by hand'),
      fix('replyguard_guard', 'detector', 'replyguard guard', ['replyguard guard apply']),
      fix('gateway', 'detector', 'gateway'),
    ];
    const ruleset = [
      fix('proxy_setting', 'ruleset', 'lan_ac_traffic', ['uci add openclash lan_ac_traffic']),
      fix('mangle_guard', 'ruleset', 'exact guard', ['nft insert rule inet fw4 openclash_mangle x']),
    ];
    assert.deepEqual(
      orderFixes([...detector, ...ruleset]).map((f) => f.text),
      ['lan_ac_traffic', 'exact guard', 'replyguard guard', 'gateway'],
    );
  });

  it("keeps the detector's own order without a ruleset", () => {
    const detector = [
      fix('nat_guard', 'detector', 'guard'),
      fix('proxy_setting', 'detector', 'access list'),
      fix('tcp_loose', 'detector', 'sysctl', ['sysctl -w net.netfilter.nf_conntrack_tcp_loose=0']),
      fix('replyguard_guard', 'detector', 'replyguard guard'),
      fix('gateway', 'detector', 'gateway'),
    ];
    assert.deepEqual(orderFixes(detector), detector);
  });

  it('drops the access list by hand when the ruleset named a proxy without settings of its own', () => {
    const list = [fix('proxy_setting', 'detector', 'access list'), fix('gateway', 'detector', 'gateway')];
    assert.deepEqual(
      orderFixes(list, { proxyKnown: true }).map((f) => f.text),
      ['gateway'],
    );
  });

  it('any input: no fix or command twice, nothing invented, and ordering again changes nothing', () => {
    const kinds: FixKind[] = ['proxy_setting', 'nat_guard', 'mangle_guard', 'tcp_loose', 'replyguard_guard', 'gateway'];
    const arb = fc.array(
      fc.record({
        kind: fc.constantFrom(...kinds),
        basis: fc.constantFrom<Fix['basis']>('ruleset', 'detector'),
        cmd: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }),
        n: fc.nat(3),
      }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(arb, (xs) => {
        const input = xs.map((x, i) => fix(x.kind, x.basis, `t${i}`, x.cmd ? [x.cmd] : undefined));
        const out = orderFixes(input);
        assert.ok(out.every((f) => input.includes(f)));
        assert.equal(new Set(out).size, out.length);
        const keys = out.map((f) => f.command?.join('\n') ?? f.text);
        assert.equal(new Set(keys).size, keys.length);
        assert.deepEqual(orderFixes(out), out);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('writes uci lines as uci takes them', () => {
    assert.equal(
      uciLine({ op: 'add', config: 'openclash', section: 'lan_ac_traffic' }),
      'uci add openclash lan_ac_traffic',
    );
    assert.equal(
      uciLine({
        op: 'add_list',
        config: 'openclash',
        section: 'config',
        option: 'lan_ac_black_ips',
        value: '192.168.1.10',
      }),
      "uci add_list openclash.config.lan_ac_black_ips='192.168.1.10'",
    );
    assert.equal(
      uciLine({ op: 'set', config: 'x', section: 'y', option: 'z', value: "it's" }),
      "uci set x.y.z='it'\\''s'",
    );
  });
});
