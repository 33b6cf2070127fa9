// The probe's nft table as text (pure generator): what it counts, where, with
// which caps, and that it never has a verdict of its own.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  isNonPublic,
  NON_PUBLIC_V4,
  NON_PUBLIC_V6,
  parseAddress,
  parsePrefix,
  prefixContains,
} from '../../../src/net/ip-address';
import { type ProbeRulesInput, probeComment, probeRules, probeTimeoutS } from '../../../src/probe/probe-rules';

const V4_ONLY: ProbeRulesInput = {
  lan: [parsePrefix('192.168.50.0/24')!],
  udpForwards: [{ host: '192.168.50.10', port: 51820 }],
  intervalS: 2,
  setSize: 4096,
};

function ruleLines(script: string): string[] {
  return script.split('\n').filter((l) => / update @(in|out)[46] /.test(l));
}

describe('probeRules', () => {
  it('is the captured golden table for the lab (the one the integration tests load)', () => {
    const golden = readFileSync(join(__dirname, '..', '..', 'golden', 'probe', 'probe-ruleset.nft'), 'utf8');
    assert.equal(probeRules(V4_ONLY).script, golden);
  });

  it('replaces the table in one transaction and hooks prerouting at -160, postrouting at 300', () => {
    const { script } = probeRules(V4_ONLY);
    const lines = script.split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      'table inet replyguard',
      'delete table inet replyguard',
      'table inet replyguard {',
    ]);
    assert.match(script, /type filter hook prerouting priority mangle - 10; policy accept;/);
    assert.match(script, /type filter hook postrouting priority srcnat \+ 200; policy accept;/);
  });

  it('counts TCP non-SYN replies in state new/invalid from the LAN to public addresses, in and out', () => {
    const { script, chainRules, sets } = probeRules(V4_ONLY);
    const rules = ruleLines(script);
    assert.equal(rules.length, 4);
    assert.deepEqual(chainRules, { pre: 2, post: 2 });
    assert.deepEqual(sets, { in: ['in4'], out: ['out4'] });
    const [tcpIn, udpIn, tcpOut, udpOut] = rules as [string, string, string, string];
    for (const r of [tcpIn, tcpOut]) {
      assert.match(r, /ip saddr @lan4 ip daddr != @nonpublic4 ip daddr != @lan4 meta l4proto tcp /);
      assert.match(r, /tcp flags & \(syn\|ack\) != syn ct state \{ new, invalid \}/);
    }
    for (const r of [udpIn, udpOut]) assert.match(r, /ip saddr \. udp sport @udpfwd4 /);
    for (const r of [tcpIn, udpIn]) assert.match(r, /^ {4}meta iiftype ether .* update @in4 /);
    for (const r of [tcpOut, udpOut]) assert.match(r, /^ {4}meta oiftype ether .* update @out4 /);
    for (const r of rules) {
      assert.match(r, /\{ ip saddr \. meta l4proto \. th sport \. ip daddr \. th dport \}/);
    }
    assert.match(
      script,
      /set udpfwd4 \{ type ipv4_addr \. inet_service; elements = \{ 192\.168\.50\.10 \. 51820 \}; \}/,
    );
  });

  it('never decides a verdict: no accept/drop/return/jump/mark/redirect/tproxy/nat in any rule', () => {
    for (const r of ruleLines(probeRules(V4_ONLY).script)) {
      assert.doesNotMatch(
        r,
        /\b(accept|drop|reject|return|jump|goto|queue|redirect|tproxy|dnat|snat|masquerade|notrack)\b|mark set/,
      );
    }
  });

  it('caps every counting set and times out its elements', () => {
    const { script, timeoutS } = probeRules({ ...V4_ONLY, setSize: 1000 });
    const dynamic = script.split('\n').filter((l) => /set (in|out)[46] /.test(l));
    assert.equal(dynamic.length, 2);
    for (const l of dynamic) {
      assert.match(l, /size 1000; flags dynamic,timeout; timeout 60s; counter;/);
    }
    assert.equal(timeoutS, 60);
    assert.equal(probeTimeoutS(2), 60);
    assert.equal(probeTimeoutS(30), 300);
  });

  it('lists the in set before the out set (a reply passing during a reading never looks lost)', () => {
    const { script } = probeRules(V4_ONLY);
    assert.ok(script.indexOf('set in4') < script.indexOf('set out4'));
  });

  it('tags every rule with the fingerprint, which follows the LAN and the UDP forwards', () => {
    const a = probeRules(V4_ONLY);
    for (const r of ruleLines(a.script)) assert.ok(r.endsWith(` comment "${probeComment(a.fingerprint)}"`), r);
    assert.equal(probeRules(V4_ONLY).fingerprint, a.fingerprint, 'stable');
    const otherLan = probeRules({ ...V4_ONLY, lan: [parsePrefix('192.168.1.0/24')!] });
    const noUdp = probeRules({ ...V4_ONLY, udpForwards: [] });
    const otherInterval = probeRules({ ...V4_ONLY, intervalS: 30 });
    assert.equal(new Set([a, otherLan, noUdp, otherInterval].map((r) => r.fingerprint)).size, 4);
  });

  it('leaves out the UDP rules without UDP forwards, and a family without LAN prefixes', () => {
    const r = probeRules({ ...V4_ONLY, udpForwards: [] });
    assert.deepEqual(r.chainRules, { pre: 1, post: 1 });
    assert.doesNotMatch(r.script, /udpfwd|ip6|in6/);
  });

  it('adds IPv6 sets and rules for IPv6 LAN prefixes, with each UDP forward in its family', () => {
    const r = probeRules({
      ...V4_ONLY,
      lan: [parsePrefix('192.168.50.0/24')!, parsePrefix('fd50::/64')!],
      udpForwards: [
        { host: '192.168.50.10', port: 51820 },
        { host: 'fd50::10', port: 27015 },
      ],
    });
    assert.deepEqual(r.sets, { in: ['in4', 'in6'], out: ['out4', 'out6'] });
    assert.deepEqual(r.chainRules, { pre: 4, post: 4 });
    assert.match(r.script, /set udpfwd6 \{ type ipv6_addr \. inet_service; elements = \{ fd50::10 \. 27015 \}; \}/);
    assert.match(r.script, /set lan6 \{ type ipv6_addr; flags interval; elements = \{ fd50::\/64 \}; \}/);
    assert.match(r.script, /ip6 saddr @lan6 ip6 daddr != @nonpublic6/);
    assert.doesNotMatch(r.script, /udpfwd4[^\n]*27015/);
  });

  it('has no rules at all without a LAN (empty chains still install)', () => {
    const r = probeRules({ ...V4_ONLY, lan: [] });
    assert.deepEqual(r.chainRules, { pre: 0, post: 0 });
    assert.deepEqual(r.sets, { in: [], out: [] });
  });

  it('uses the same non-public ranges as isNonPublic', () => {
    const prefixes = [...NON_PUBLIC_V4, ...NON_PUBLIC_V6].map((p) => parsePrefix(p)!);
    const samples = [
      '0.1.2.3',
      '10.9.8.7',
      '100.64.0.1',
      '100.128.0.1',
      '127.0.0.1',
      '169.254.1.1',
      '172.16.0.1',
      '172.32.0.1',
      '192.168.50.10',
      '192.169.0.1',
      '203.0.113.50',
      '198.51.100.7',
      '8.8.8.8',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      'fd00::1',
      'fe80::1',
      'ff02::1',
      '2001:db8::1',
      '2a00::1',
    ];
    for (const text of samples) {
      const addr = parseAddress(text)!;
      assert.equal(
        prefixes.some((p) => prefixContains(p, addr)),
        isNonPublic(addr),
        text,
      );
    }
    for (const p of prefixes) assert.ok(isNonPublic(parseAddress(p.text.split('/')[0]!)!), p.text);
  });
});
