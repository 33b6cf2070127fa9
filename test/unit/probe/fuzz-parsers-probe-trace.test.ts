// Fuzz: the probe's readers (`nft -j list table inet replyguard`,
// fw3 `ipset save` and `iptables-save -t mangle`), the `nft -a monitor trace`
// parser, the `nft monitor` line filter and the MQTT payload checks — on random
// text, random JSON and mutated golden captures (test/golden/probe, trace).
// Each input within the time bound, no exception, the documented shape, and
// round trips where a line can be built from known fields.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isOwnDiscoveryPayload } from '../../../src/mqtt/ha-discovery';
import { Topics } from '../../../src/mqtt/mqtt-topics';
import { parsePrefix } from '../../../src/net/ip-address';
import { parseProbeIpsetCounters } from '../../../src/probe/probe-ipset-counters';
import { checkIptablesProbe, iptablesProbeRules } from '../../../src/probe/probe-iptables';
import { type ProbeDump, parseProbeDump } from '../../../src/probe/probe-json';
import { sampleFromDump } from '../../../src/probe/probe-sample';
import {
  compareTrace,
  packetKind,
  parsePacketFields,
  parseTrace,
  parseTraceLine,
  stripCounters,
  traceFate,
} from '../../../src/ruleset/nft-trace';
import { cheapNormalize, isOwnMonitorLine } from '../../../src/sensors/ruleset-watch';
import {
  assertNoPollution,
  check,
  golden,
  mutatedJson,
  mutatedText,
  oddJson,
  POISON_WORDS,
  randomText,
  timed,
} from '../../helpers/fuzz-kit';

const PROBE_JSON = [
  'list-table-nft-redirect.json',
  'list-table-nft-tproxy.json',
  'list-table-none.json',
  'list-table-tun.json',
  'list-set-in4-nft-tproxy.json',
].map((f) => golden('probe', f));
const FW3_IPSET = ['fw3-ipset-save-iptables-redirect.txt', 'fw3-ipset-save-none.txt', 'fw3-ipset.txt'].map((f) =>
  golden('probe', f),
);
const FW3_IPT = ['fw3-iptables-save-mangle.txt', 'fw3-iptables.txt'].map((f) => golden('probe', f));
const TRACES = [
  'nft-redirect-guard-toggle.txt',
  'iptables-nft-redirect-guard-toggle.txt',
  'nft-monitor-ruleset.txt',
].map((f) => golden('trace', f));

const isIp = (s: unknown) => typeof s === 'string' && s.length > 0;
const isPort = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535;

function assertSetDump(name: string, s: ProbeDump['sets'][string]): void {
  assert.ok(Array.isArray(s.elements), `${name}.elements`);
  assert.ok(Number.isInteger(s.skipped) && s.skipped >= 0, `${name}.skipped`);
  if (s.size !== undefined) assert.equal(typeof s.size, 'number');
  for (const e of s.elements) {
    assert.ok(e.proto === 'tcp' || e.proto === 'udp', `proto ${String(e.proto)}`);
    assert.ok(isIp(e.server) && isIp(e.peer));
    assert.ok(isPort(e.serverPort) && isPort(e.peerPort));
    assert.ok(Number.isSafeInteger(e.packets) && e.packets >= 0);
  }
}

function probeDump(text: string): void {
  const d = timed('parseProbeDump', () => parseProbeDump(text));
  if ('error' in d) {
    assert.equal(typeof d.error, 'string');
    assert.ok(d.error.length > 0);
    return;
  }
  assert.equal(typeof d.tableHandle, 'number');
  for (const [name, c] of Object.entries(d.chains)) {
    assert.ok(Number.isInteger(c.rules) && c.rules >= 0, name);
    assert.ok(Array.isArray(c.comments) && c.comments.every((x) => typeof x === 'string'));
  }
  for (const [name, s] of Object.entries(d.sets)) assertSetDump(name, s);
  // What the sensor does next with it must not throw either.
  const sample = sampleFromDump(d, { in: ['in4', 'in6'], out: ['out4', 'out6'] }, Date.now(), 1);
  assert.ok(Array.isArray(sample.flows));
}

describe('fuzz: probe nft -j reader (parseProbeDump)', () => {
  const table = { table: { family: 'inet', name: 'replyguard', handle: 1 } };

  it('random text: 1000 inputs', () => {
    check(fc.property(randomText(), probeDump), 1000);
  });

  it('wrong-typed values in every slot: 1000 inputs', () => {
    check(
      fc.property(oddJson(), fc.constantFrom(...POISON_WORDS, 'pre', 'in4'), (v, name) => {
        probeDump(JSON.stringify(v) ?? '');
        probeDump(
          JSON.stringify({
            nftables: [
              table,
              { chain: { family: 'inet', table: 'replyguard', name } },
              { rule: { family: 'inet', table: 'replyguard', chain: name, comment: v } },
              { set: { family: 'inet', table: 'replyguard', name, size: v, elem: v } },
              {
                set: {
                  family: 'inet',
                  table: 'replyguard',
                  name: 'in4',
                  elem: [v, { elem: { val: { concat: ['192.0.2.1', v, 443, '203.0.113.9', v] }, counter: v } }],
                },
              },
              {
                set: {
                  family: 'inet',
                  table: 'replyguard',
                  name: 'out4',
                  elem: [{ elem: { val: { concat: [v, 'tcp', v, v, 1] }, counter: { packets: v } } }],
                },
              },
              v,
            ],
          }),
        );
      }),
      1000,
    );
    assertNoPollution();
  });

  it('mutated golden captures: 1500 inputs', () => {
    check(fc.property(mutatedJson(PROBE_JSON), probeDump), 1500);
    assertNoPollution();
  });

  it('round trip: a generated element reads back as built', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    check(
      fc.property(
        v4,
        fc.constantFrom('tcp', 'udp'),
        fc.nat(65535),
        v4,
        fc.nat(65535),
        fc.nat(1e9),
        (server, proto, sport, peer, pport, packets) => {
          const elem = {
            elem: { val: { concat: [server, proto, sport, peer, pport] }, counter: { packets, bytes: 1 } },
          };
          const d = parseProbeDump(
            JSON.stringify({
              nftables: [table, { set: { family: 'inet', table: 'replyguard', name: 'in4', elem: [elem] } }],
            }),
          );
          assert.ok(!('error' in d));
          assert.deepEqual(d.sets.in4?.elements, [
            { proto, server, serverPort: sport, peer, peerPort: pport, packets },
          ]);
        },
      ),
      1000,
    );
  });
});

// ---------------------------------------------------------------------------

function fw3Ipset(text: string): void {
  const sets = timed('parseProbeIpsetCounters', () => parseProbeIpsetCounters(text));
  for (const [name, s] of Object.entries(sets)) assertSetDump(name, s);
}

describe('fuzz: probe fw3 ipset save reader (parseProbeIpsetCounters)', () => {
  it('random text: 1000 inputs', () => {
    check(fc.property(randomText(), fw3Ipset), 1000);
  });

  it('mutated golden captures: 2000 inputs', () => {
    check(fc.property(mutatedText(FW3_IPSET, 6), fw3Ipset), 2000);
    assertNoPollution();
  });

  it('sets named like Object.prototype properties', () => {
    for (const n of POISON_WORDS)
      fw3Ipset(
        `create ${n} hash:ip,port,ip family inet maxelem 5\nadd ${n} 192.0.2.1,tcp:443,203.0.113.9 packets 3\nadd ${n} x\n`,
      );
    assertNoPollution();
  });

  it('round trip: a generated add line reads back as built', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    check(
      fc.property(v4, fc.constantFrom('tcp', 'udp'), fc.nat(65535), v4, fc.nat(1e9), (server, proto, port, peer, n) => {
        const sets = parseProbeIpsetCounters(
          `add replyguard_in4 ${server},${proto}:${port},${peer} timeout 59 packets ${n} bytes 1\n`,
        );
        assert.deepEqual(sets.replyguard_in4?.elements, [
          { proto, server, serverPort: port, peer, peerPort: 0, packets: n },
        ]);
      }),
      1000,
    );
  });
});

// ---------------------------------------------------------------------------

describe('fuzz: probe fw3 iptables-save check (checkIptablesProbe)', () => {
  const expected = iptablesProbeRules({
    lan: [parsePrefix('192.168.50.0/24')!],
    lanInterfaces: ['br-lan'],
    udpForwards: [],
    intervalS: 2,
    setSize: 4096,
  });
  const run = (text: string) => {
    const r = timed('checkIptablesProbe', () => checkIptablesProbe(text, expected));
    assert.equal(typeof r.ok, 'boolean');
    if (!r.ok) assert.equal(typeof r.why, 'string');
    assert.ok(Array.isArray(r.deletes) && r.deletes.every((d) => d.every((a) => typeof a === 'string')));
  };

  it('random text: 1000 inputs', () => {
    check(fc.property(randomText(), run), 1000);
  });

  it('mutated golden captures: 2000 inputs', () => {
    check(fc.property(mutatedText(FW3_IPT, 6), run), 2000);
    assertNoPollution();
  });

  it('chains named like Object.prototype properties', () => {
    for (const n of POISON_WORDS) run(`*mangle\n:${n} - [0:0]\n-A ${n} -j replyguard_pre\n-A ${n} -j ACCEPT\nCOMMIT\n`);
    assertNoPollution();
  });
});

// ---------------------------------------------------------------------------

function trace(text: string): void {
  const packets = timed('parseTrace', () => parseTrace(text));
  assert.ok(Array.isArray(packets));
  for (const p of packets) {
    assert.equal(typeof p.id, 'string');
    assert.equal(typeof p.kind, 'string');
    assert.ok(Array.isArray(p.hops) && Array.isArray(p.entries));
    for (const h of p.hops) {
      assert.ok(['rule', 'policy', 'verdict'].includes(h.kind));
      assert.equal(typeof h.text, 'string');
      assert.equal(typeof h.verdict, 'string');
      if (h.handle !== undefined) assert.ok(Number.isFinite(h.handle));
    }
    if (p.sport !== undefined) assert.ok(Number.isFinite(p.sport));
    // What `replyguard trace` does next with each packet.
    const fate = traceFate(p);
    if (fate.finalMark !== undefined) assert.ok(Number.isFinite(fate.finalMark));
    const cmp = compareTrace(p, { verdict: 'proxied', how: { kind: 'redirect', port: 7892 }, responsible: null });
    assert.equal(typeof cmp.agree, 'boolean');
  }
}

describe('fuzz: nft monitor trace parser (parseTrace and its parts)', () => {
  it('random text: 1000 inputs', () => {
    check(
      fc.property(randomText(), (s) => {
        trace(s);
        trace(`trace id 1 inet fw4 c ${s}`);
        timed('parsePacketFields', () => parsePacketFields(s));
        assert.equal(typeof packetKind('tcp', s), 'string');
        assert.equal(typeof stripCounters(s), 'string');
      }),
      1000,
    );
  });

  it('mutated golden captures: 2000 inputs', () => {
    check(fc.property(mutatedText(TRACES, 6), trace), 2000);
  });

  it('long lines stay within the bound (no regex backtracking blow-up)', () => {
    const many = (part: string) => part.repeat(2000);
    for (const rest of [
      many('(verdict '),
      many('tcp flags == '),
      `packet: ${many('tcp flags == ack ')}`,
      `rule ${many('counter packets 1 bytes 2 ')} # handle 3 (verdict accept)`,
      `packet: ${many('ip saddr ')}`,
    ])
      trace(`trace id 1f inet fw4 pre ${rest}\ntrace id 1f inet fw4 pre rule ${rest}`);
  });

  it('round trip: a generated line splits into the fields it was built from', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);
    check(
      fc.property(
        fc.stringMatching(/^[0-9a-f]{1,8}$/),
        fc.constantFrom('inet', 'ip', 'ip6'),
        word,
        word,
        fc.nat(1e6),
        fc.constantFrom('accept', 'drop', 'continue', 'jump x'),
        (id, family, table, chain, handle, verdict) => {
          const l = parseTraceLine(
            `trace id ${id} ${family} ${table} ${chain} rule meta mark 0x1 # handle ${handle} (verdict ${verdict})`,
          );
          assert.deepEqual(
            { id: l?.id, table: l?.table, chain: l?.chain, what: l?.what },
            { id, table: `${family} ${table}`, chain, what: 'rule' },
          );
          const [p] = parseTrace(
            `trace id ${id} inet replyguard_trace pre packet: iif "br-lan" ip saddr 192.0.2.1 ip daddr 203.0.113.9 tcp sport 443 tcp dport 5000 tcp flags == 0x12 tcp window 1\n` +
              `trace id ${id} ${family} ${table} ${chain} rule meta mark 0x1 # handle ${handle} (verdict ${verdict})\n`,
          );
          assert.deepEqual(p?.hops, [
            { table: `${family} ${table}`, chain, kind: 'rule', text: 'meta mark 0x1', verdict, handle },
          ]);
          assert.deepEqual([p?.sport, p?.dport, p?.kind, p?.iif], [443, 5000, 'synack', 'br-lan']);
        },
      ),
      1000,
    );
  });
});

// ---------------------------------------------------------------------------

describe('fuzz: nft monitor ruleset lines and ruleset text normalisation (ruleset-watch)', () => {
  it('random and mutated lines: 2000 inputs, a boolean each, normalising never throws', () => {
    check(
      fc.property(fc.oneof(randomText(), mutatedText(TRACES, 3)), (s) => {
        for (const line of s.split('\n'))
          assert.equal(typeof timed('isOwnMonitorLine', () => isOwnMonitorLine(line)), 'boolean');
        assert.equal(typeof timed('cheapNormalize', () => cheapNormalize(s)), 'string');
      }),
      2000,
    );
  });
});

// ---------------------------------------------------------------------------

describe('fuzz: MQTT messages from the broker (isOwnDiscoveryPayload, Topics.isOwnDiscoveryTopic)', () => {
  const topics = new Topics({ discoveryPrefix: 'homeassistant', baseTopic: 'replyguard', nodeId: 'node' });

  it('any payload and any topic give a boolean: 2000 inputs', () => {
    check(
      fc.property(
        fc.oneof(
          randomText(),
          oddJson().map((v) => JSON.stringify(v) ?? ''),
        ),
        fc.oneof(
          randomText(100),
          randomText(60).map((s) => `homeassistant/${s}/config`),
        ),
        (payload, topic) => {
          assert.equal(typeof timed('isOwnDiscoveryPayload', () => isOwnDiscoveryPayload(payload, 'node')), 'boolean');
          assert.equal(typeof timed('isOwnDiscoveryTopic', () => topics.isOwnDiscoveryTopic(topic)), 'boolean');
        },
      ),
      2000,
    );
  });

  it('only our own unique ids count', () => {
    check(
      fc.property(fc.string(), (rest) => {
        assert.equal(isOwnDiscoveryPayload(JSON.stringify({ unique_id: `replyguard_node_${rest}` }), 'node'), true);
        assert.equal(isOwnDiscoveryPayload(JSON.stringify({ unique_id: `other_node_${rest}` }), 'node'), false);
      }),
      500,
    );
  });
});
