// The loaders on the golden fixtures (golden model JSON), their details, the
// prefix index against a naive check, and fuzzing: no loader throws on a
// mutated dump, and explain never throws on what they return.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAddress, parsePrefix, prefixContains } from '../../../src/net/ip-address';
import { explainPacket } from '../../../src/ruleset/explain-text';
import { loadIpRouteJson } from '../../../src/ruleset/ip-route-json';
import { loadIpRuleJson } from '../../../src/ruleset/ip-rule-json';
import { loadIpsetSave } from '../../../src/ruleset/ipset-save';
import { loadIptablesSave, tokenize } from '../../../src/ruleset/iptables-save';
import { loadNftJson } from '../../../src/ruleset/nft-json';
import { ipValue, PrefixIndex } from '../../../src/ruleset/prefix-set';
import { fingerprintDumps, makeSnapshot, type RulesetDumps } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';
import { assertGolden } from '../../helpers/golden';

const DIR = join(__dirname, '..', '..', 'golden', 'rulesets');
const dumpsOf = (name: string): RulesetDumps => readDumpDir(join(DIR, name));

describe('golden models', () => {
  for (const name of [
    'openclash-fw4-fakeip',
    'openclash-fw3-fakeip',
    'openclash-fw3-ipv6',
    'nikki',
    'shellcrash-iptables',
  ]) {
    it(`${name}: the model matches model.expected.json`, () => {
      const rs = makeSnapshot(dumpsOf(name)).ruleset;
      assertGolden(join(DIR, name, 'model.expected.json'), rs);
    });
  }
});

describe('nft -j loader', () => {
  const { tables, issues } = loadNftJson(dumpsOf('openclash-fw4-fakeip').nftJson!);
  const fw4 = tables.find((t) => t.name === 'fw4')!;

  it('base chains carry hook, type, priority and policy; rules their handle and position', () => {
    assert.deepEqual(issues, []);
    const dstnat = fw4.chains.find((c) => c.name === 'dstnat')!;
    assert.deepEqual([dstnat.hook, dstnat.type, dstnat.priority, dstnat.policy], ['prerouting', 'nat', -100, 'accept']);
    const forward = fw4.chains.find((c) => c.name === 'forward')!;
    assert.equal(forward.policy, 'drop');
    const oc = fw4.chains.find((c) => c.name === 'openclash')!;
    assert.equal(oc.hook, undefined);
    assert.deepEqual(
      oc.rules.map((r) => r.position),
      [1, 2, 3, 4],
    );
    assert.ok(oc.rules.every((r) => typeof r.handle === 'number'));
    assert.equal(oc.rules[1]!.text, 'ct direction reply counter return');
  });

  it('named interval sets hold prefixes', () => {
    const set = fw4.sets.find((s) => s.name === 'localnetwork')!;
    assert.deepEqual(set.keyType, ['ipv4_addr']);
    assert.ok(set.flags.includes('interval'));
    assert.ok(set.elements.some((e) => e.kind === 'prefix' && e.addr === '192.168.0.0' && e.bits === 16));
  });

  it('concatenated sets (nikki proxy_dport: inet_proto . inet_service ranges)', () => {
    const nikki = loadNftJson(dumpsOf('nikki').nftJson!).tables.find((t) => t.name === 'nikki')!;
    const set = nikki.sets.find((s) => s.name === 'proxy_dport')!;
    assert.deepEqual(set.keyType, ['inet_proto', 'inet_service']);
    assert.deepEqual(set.elements[0], {
      kind: 'concat',
      parts: [
        { kind: 'num', n: 6 },
        { kind: 'range', lo: { kind: 'num', n: 0 }, hi: { kind: 'num', n: 65535 } },
      ],
    });
  });

  it('maps and verdict maps load with their data', () => {
    const doc = JSON.stringify({
      nftables: [
        { table: { family: 'inet', name: 't' } },
        {
          map: {
            family: 'inet',
            table: 't',
            name: 'vm',
            type: 'ipv4_addr',
            map: 'verdict',
            elem: [['1.1.1.1', { accept: null }]],
          },
        },
      ],
    });
    const set = loadNftJson(doc).tables[0]!.sets[0]!;
    assert.equal(set.isMap, true);
    assert.deepEqual(set.data, [{ kind: 'accept' }]);
  });

  it('iptables-nft tables seen by nft -j are left to iptables-save (no xt warnings)', () => {
    const s = makeSnapshot(dumpsOf('shellcrash-iptables'));
    assert.deepEqual(s.ruleset.issues, []);
    assert.equal(s.ruleset.tables.filter((t) => t.name === 'nat').length, 1);
    assert.equal(s.ruleset.tables.find((t) => t.name === 'nat')!.variant, 'nft');
    const alone = loadNftJson(dumpsOf('shellcrash-iptables').nftJson!);
    assert.ok(
      alone.issues.some((i) => /xt target/.test(i.message)),
      'nft -j alone cannot read the REDIRECT target',
    );
  });
});

describe('nft -j loader on stock OpenWrt 23.05 fw4 (golden/openwrt, dumped on the rig)', () => {
  const text = readFileSync(join(__dirname, '..', '..', 'golden', 'openwrt', 'fw4-stock.nft.json'), 'utf8');
  const { tables, issues } = loadNftJson(text);
  const fw4 = tables.find((t) => t.name === 'fw4')!;
  const ruleWith = (chain: string, re: RegExp) =>
    fw4.chains.find((c) => c.name === chain)!.rules.find((r) => re.test(r.text))!;

  it('reads every rule fw4 writes: no loader message', () => {
    assert.deepEqual(issues, []);
  });

  it('a rate limit is no match of its own; its text reads as nft prints it', () => {
    const synFlood = ruleWith('syn_flood', /limit/);
    assert.match(synFlood.text, /limit rate 25\/second burst 50 packets/);
    assert.ok(synFlood.matches.every((m) => m.kind !== 'unknown'));
  });

  it('icmpv6 type . icmpv6 code sets hold ICMPv6 numbers (mld-listener-query . no-route = 130 . 0)', () => {
    const rule = ruleWith('input_wan', /mld-listener-query/);
    const cmp = rule.matches.find((m) => m.kind === 'cmp' && m.key.kind === 'concat');
    assert.ok(cmp && cmp.kind === 'cmp' && cmp.value.kind === 'set');
    const first = cmp.value.elements[0]!;
    assert.deepEqual(first, {
      kind: 'concat',
      parts: [
        { kind: 'num', n: 130 },
        { kind: 'num', n: 0 },
      ],
    });
    // destination-unreachable is 1 in ICMPv6 (3 in ICMP).
    const v6 = ruleWith('input_wan', /icmpv6 type \{ destination-unreachable/);
    const set = v6.matches.find((m) => m.kind === 'cmp');
    assert.ok(set && set.kind === 'cmp' && set.value.kind === 'set');
    assert.deepEqual(set.value.elements[0], { kind: 'num', n: 1 });
  });
});

describe('iptables-save loader', () => {
  it('legacy variant, built-in chains at kernel priorities, -m set resolved against ipset save', () => {
    const { tables, issues } = loadIptablesSave(dumpsOf('openclash-fw3-fakeip').iptablesSave!);
    assert.deepEqual(issues, []);
    const nat = tables.find((t) => t.name === 'nat')!;
    const mangle = tables.find((t) => t.name === 'mangle')!;
    assert.equal(nat.variant, 'legacy');
    assert.equal(nat.chains.find((c) => c.name === 'PREROUTING')!.priority, -100);
    assert.equal(mangle.chains.find((c) => c.name === 'PREROUTING')!.priority, -150);
    const rule = nat.chains.find((c) => c.name === 'openclash')!.rules[0]!;
    assert.deepEqual(rule.matches, [
      { kind: 'cmp', key: { kind: 'ipset', dirs: ['dst'] }, op: '==', value: { kind: 'setref', name: 'localnetwork' } },
    ]);
    const tproxy = mangle.chains.find((c) => c.name === 'openclash')!.rules[2]!;
    assert.ok(tproxy.ops.some((o) => o.kind === 'tproxy' && o.port === 7895 && o.terminal));
  });

  it('ip6tables-save (legacy) of openclash-fw3-ipv6: family ip6, icmp6 and TPROXY parsed, inet6 ipsets resolved', () => {
    const dumps = dumpsOf('openclash-fw3-ipv6');
    const { tables, issues } = loadIptablesSave(dumps.ip6tablesSave!, 6);
    assert.deepEqual(issues, []);
    assert.deepEqual(
      tables.map((t) => `${t.family} ${t.name} ${t.variant}`),
      ['ip6 mangle legacy', 'ip6 nat legacy', 'ip6 filter legacy'],
    );
    const mangle = tables.find((t) => t.name === 'mangle')!;
    const oc = mangle.chains.find((c) => c.name === 'openclash')!;
    assert.equal(oc.rules.length, 6);
    // The catch-alls (init.d/openclash 2960, 2971): TPROXY to 7895, terminal.
    for (const r of oc.rules.slice(4))
      assert.ok(
        r.ops.some((o) => o.kind === 'tproxy' && o.port === 7895 && o.terminal),
        r.text,
      );
    assert.equal(mangle.chains.find((c) => c.name === 'PREROUTING')!.priority, -150);
    assert.ok(tables.every((t) => t.backend === 'ip6tables'));
    // The whole snapshot: both families' tables, the inet6 sets next to the inet ones, nothing unread.
    const rs = makeSnapshot(dumps).ruleset;
    assert.deepEqual(rs.issues, []);
    assert.deepEqual(rs.sources.slice(0, 2), ['iptables-save', 'ip6tables-save']);
    assert.deepEqual(
      rs.ipsets.map((s) => s.name),
      [
        'localnetwork',
        'china_ip_route',
        'china_ip_route_pass',
        'china_ip6_route',
        'china_ip6_route_pass',
        'localnetwork6',
      ],
    );
  });

  it('raw and security tables, ip6tables, counters, quotes, negations, multiport and tcp-flags', () => {
    const text = [
      '# Generated by ip6tables-save v1.8.9 (nf_tables) on x',
      '*raw',
      ':PREROUTING ACCEPT [1:2]',
      '[5:300] -A PREROUTING ! -s fd00::/8 -p tcp -m multiport --dports 80,443,8000:8100 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment "a \\"quoted\\" comment" -j CT --notrack',
      'COMMIT',
      '*security',
      ':INPUT ACCEPT [0:0]',
      'COMMIT',
    ].join('\n');
    const { tables, issues } = loadIptablesSave(text);
    assert.deepEqual(issues, []);
    assert.equal(tables[0]!.family, 'ip6');
    assert.equal(tables[0]!.variant, 'nft');
    const r = tables[0]!.chains[0]!.rules[0]!;
    assert.equal(r.comment, 'a "quoted" comment');
    assert.equal(r.matches.length, 4);
    assert.equal(r.matches[0]!.kind === 'cmp' && r.matches[0]!.op, '!=');
    assert.equal(tables[0]!.chains[0]!.priority, -300);
    assert.equal(tables[1]!.chains[0]!.priority, 50);
  });

  it('tokenize keeps quoted words together', () => {
    assert.deepEqual(tokenize('-A x -m comment --comment "two words" -j RETURN'), [
      '-A',
      'x',
      '-m',
      'comment',
      '--comment',
      'two words',
      '-j',
      'RETURN',
    ]);
  });
});

describe('ipset save loader', () => {
  it('hash:ip, hash:net, hash:ip,port, bitmap:port, hash:mac', () => {
    const { sets, issues } = loadIpsetSave(
      [
        'create a hash:ip family inet hashsize 1024 maxelem 65536',
        'add a 1.2.3.4',
        'create b hash:net family inet',
        'add b 10.0.0.0/8',
        'create c hash:ip,port family inet',
        'add c 1.2.3.4,tcp:80',
        'create d bitmap:port range 0-65535',
        'add d 443',
        'add d 8000-8100',
        'create e hash:mac',
        'add e 00:11:22:33:44:55',
        'create f list:set size 8',
      ].join('\n'),
    );
    assert.equal(sets.length, 6);
    assert.equal(issues.length, 1, 'list:set is named as not modelled');
    assert.deepEqual(sets[2]!.elements[0], {
      kind: 'concat',
      parts: [
        { kind: 'prefix', family: 4, addr: '1.2.3.4', bits: 32 },
        {
          kind: 'concat',
          parts: [
            { kind: 'num', n: 6 },
            { kind: 'num', n: 80 },
          ],
        },
      ],
    });
    assert.deepEqual(sets[3]!.elements[1], {
      kind: 'range',
      lo: { kind: 'num', n: 8000 },
      hi: { kind: 'num', n: 8100 },
    });
  });
});

describe('ip -j rule / route loaders', () => {
  it('fwmark/mask rules, local and tun routes', () => {
    const d = dumpsOf('nikki');
    const rules = loadIpRuleJson(d.ipRule!).rules;
    assert.deepEqual(
      rules.filter((r) => r.fwmark !== undefined).map((r) => [r.priority, r.fwmark, r.fwmask, r.table]),
      [[1025, 0x81, 0xff, '81']],
    );
    const routes = loadIpRouteJson(d.ipRoute!).routes;
    assert.ok(routes.some((r) => r.table === '81' && r.dev === 'nikki'));
    assert.ok(routes.some((r) => r.table === 'main' && r.gateway === '192.168.1.1'));
    // OpenClash's TPROXY route: a local default route in table 0x162 (354).
    const oc = loadIpRouteJson(dumpsOf('openclash-fw4-fakeip').ipRoute!).routes;
    assert.ok(oc.some((r) => r.table === '354' && r.type === 'local' && r.dst === 'default'));
  });
});

describe('prefix index', () => {
  it('agrees with a naive prefix check on random prefixes and addresses', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })), { maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 30 }),
        (prefixes, addrs) => {
          const text = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
          const idx = new PrefixIndex();
          const parsed = prefixes.map(([n, bits]) => parsePrefix(`${text(n)}/${bits}`)!);
          for (const p of parsed) idx.addPrefix(p.text);
          for (const a of addrs) {
            const naive = parsed.some((p) => prefixContains(p, parseAddress(text(a))!));
            assert.equal(idx.has(ipValue(text(a))!), naive);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('IPv6 prefixes', () => {
    const idx = new PrefixIndex();
    idx.addPrefix('fd00::/8');
    idx.addPrefix('2001:db8::/32');
    assert.equal(idx.has(ipValue('fd12::1')!), true);
    assert.equal(idx.has(ipValue('2001:db8:1::5')!), true);
    assert.equal(idx.has(ipValue('2001:db9::1')!), false);
    assert.equal(idx.has(ipValue('10.0.0.1')!), false);
  });
});

describe('fuzz: mutated dumps never throw', () => {
  const base = dumpsOf('openclash-fw4-fakeip');
  const fw3 = dumpsOf('openclash-fw3-fakeip');
  const mutate = (text: string, cut: number, at: number, junk: string) => {
    const i = text.length === 0 ? 0 : at % text.length;
    return text.slice(0, i) + junk + text.slice(i + (cut % 40));
  };
  it('nft -j, iptables-save, ipset save, ip -j rule/route/addr, then explain', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.string({ maxLength: 12 }),
        fc.constantFrom<keyof RulesetDumps>('nftJson', 'ipRule', 'ipRoute', 'ipAddr'),
        fc.constantFrom<keyof RulesetDumps>('iptablesSave', 'ipsetSave'),
        (cut, at, junk, k1, k2) => {
          const dumps: RulesetDumps = { ...base, ...fw3 };
          dumps[k1] = mutate(dumps[k1] ?? '', cut, at, junk);
          dumps[k2] = mutate(dumps[k2] ?? '', at, cut, junk);
          const s = makeSnapshot(dumps);
          const r = explainPacket(s, {
            proto: 'tcp',
            src: '192.168.1.10',
            sport: 443,
            dst: '203.0.113.50',
            dport: 40000,
          });
          assert.notEqual(typeof r, 'string');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('structured garbage in nft -j', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
        const doc = JSON.stringify({
          nftables: [
            { table: { family: 'inet', name: 't' } },
            { rule: { family: 'inet', table: 't', chain: 'c', expr: [v, { match: { op: '==', left: v, right: v } }] } },
            v,
          ],
        });
        const s = makeSnapshot({ nftJson: doc });
        explainPacket(s, { proto: 'udp', src: '192.168.1.10', sport: 1, dst: '203.0.113.50', dport: 2 });
      }),
      { numRuns: 300 },
    );
  });

  it('the fingerprint changes with any dump and only then', () => {
    assert.equal(fingerprintDumps(base), fingerprintDumps({ ...base }));
    assert.notEqual(fingerprintDumps(base), fingerprintDumps({ ...base, tcpLoose: '0\n' }));
    assert.notEqual(fingerprintDumps({}), fingerprintDumps({ nftJson: '' }));
  });
});
