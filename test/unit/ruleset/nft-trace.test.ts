// The `nft -a monitor trace` parser on output captured in the lab, and the
// comparison of a traced packet with the static explain.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  compareTrace,
  foreignHops,
  packetKind,
  parseTrace,
  parseTraceLine,
  stripCounters,
  traceFate,
} from '../../../src/ruleset/nft-trace';
import { isOwnMonitorLine } from '../../../src/sensors/ruleset-watch';

const GOLDEN = join(__dirname, '..', '..', 'golden', 'trace');
const read = (f: string) => readFileSync(join(GOLDEN, f), 'utf8');

describe('parseTraceLine', () => {
  it('splits id, table, chain and what', () => {
    const l = parseTraceLine(
      'trace id f250f778 inet fw4 openclash rule ip protocol tcp counter packets 0 bytes 0 redirect to :7892 # handle 7 (verdict accept)',
    );
    assert.deepEqual(l, {
      id: 'f250f778',
      table: 'inet fw4',
      chain: 'openclash',
      what: 'rule',
      rest: 'ip protocol tcp counter packets 0 bytes 0 redirect to :7892 # handle 7 (verdict accept)',
    });
    assert.equal(parseTraceLine('not a trace line'), null);
    assert.equal(parseTraceLine('trace id 1a ip nat INPUT policy accept ')?.what, 'policy');
  });

  it('strips counters', () => {
    assert.equal(
      stripCounters('ip protocol tcp counter packets 12 bytes 624 redirect to :7892'),
      'ip protocol tcp counter redirect to :7892',
    );
  });

  it('names packet kinds from the flags nft prints', () => {
    assert.equal(packetKind('tcp', '0x12'), 'synack');
    assert.equal(packetKind('tcp', 'ack'), 'ack');
    assert.equal(packetKind('tcp', 'psh | ack'), 'ack');
    assert.equal(packetKind('tcp', 'rst'), 'rst');
    assert.equal(packetKind('tcp', 'fin | ack'), 'fin');
    assert.equal(packetKind('tcp', 'syn'), 'syn');
    assert.equal(packetKind('udp', undefined), 'udp');
  });
});

describe('parseTrace on nft REDIRECT (captured)', () => {
  const packets = parseTrace(read('nft-redirect-guard-toggle.txt'));

  it('finds every packet that entered the trace table, in order, despite reused trace ids', () => {
    assert.equal(packets.length, 9, '11 packet: lines, 2 of them in fw4 dstnat');
    assert.deepEqual(
      packets.slice(0, 3).map((p) => p.kind),
      ['synack', 'ack', 'rst'],
    );
    assert.equal(packets[0]!.id, packets[1]!.id, 'the kernel reused the trace id for the next packet');
    for (const p of packets) {
      assert.equal(p.saddr, '192.168.50.10');
      assert.equal(p.sport, 443);
      assert.equal(p.daddr, '203.0.113.50');
      assert.equal(p.iif, 'br-lan');
      assert.equal(p.start, 'inet replyguard_trace pre');
    }
  });

  it('the SYN-ACK passes: no rule outside the trace table matched', () => {
    assert.deepEqual(foreignHops(packets[0]!), []);
    assert.deepEqual(traceFate(packets[0]!).diverted, undefined);
  });

  it('the mid-stream ACK is redirected by inet fw4 openclash, handle 7', () => {
    const p = packets[1]!;
    assert.deepEqual(foreignHops(p), [
      {
        table: 'inet fw4',
        chain: 'dstnat',
        kind: 'rule',
        handle: 4,
        text: 'iifname "br-lan" ip protocol tcp counter jump openclash',
        verdict: 'jump openclash',
      },
      {
        table: 'inet fw4',
        chain: 'openclash',
        kind: 'rule',
        handle: 7,
        text: 'ip protocol tcp counter redirect to :7892',
        verdict: 'accept',
      },
    ]);
    assert.equal(traceFate(p).diverted?.handle, 7);
  });

  it('after the guard: "unknown rule handle 8" returns, the chain policy accepts', () => {
    const guarded = packets.filter((p) => p.kind === 'ack' && foreignHops(p).some((h) => h.handle === 8));
    assert.equal(guarded.length, 1);
    const hops = foreignHops(guarded[0]!);
    assert.deepEqual(hops[1], {
      table: 'inet fw4',
      chain: 'openclash',
      kind: 'rule',
      handle: 8,
      text: '',
      verdict: 'return',
    });
    assert.deepEqual(hops[2], { table: 'inet fw4', chain: 'dstnat', kind: 'policy', text: '', verdict: 'accept' });
    assert.equal(traceFate(guarded[0]!).diverted, undefined);
  });
});

describe('parseTrace on iptables-nft REDIRECT (captured)', () => {
  const packets = parseTrace(read('iptables-nft-redirect-guard-toggle.txt'));

  it('follows the redirect into ip nat INPUT with the new destination', () => {
    const ack = packets.find((p) => p.kind === 'ack')!;
    assert.deepEqual(
      ack.entries.map((e) => [e.table, e.chain, e.daddr, e.dport]),
      [
        ['inet replyguard_trace', 'pre', '203.0.113.50', ack.dport],
        ['ip nat', 'PREROUTING', '203.0.113.50', ack.dport],
        ['ip nat', 'INPUT', '192.168.50.2', 7892],
      ],
    );
    const fate = traceFate(ack);
    assert.equal(fate.diverted?.chain, 'openclash');
    assert.equal(fate.diverted?.text, 'meta l4proto tcp counter redirect to :7892');
    assert.equal(fate.lastEntry, 'ip nat INPUT');
  });

  it('with the guard the ACK goes on to ip nat POSTROUTING (forwarded)', () => {
    const passed = packets.find((p) => p.kind === 'ack' && p.entries.some((e) => e.chain === 'POSTROUTING'));
    assert.ok(passed);
    assert.equal(traceFate(passed).diverted, undefined);
    assert.equal(passed.entries.at(-1)?.oif, 'br-lan');
  });
});

describe('compareTrace', () => {
  const packets = parseTrace(read('nft-redirect-guard-toggle.txt'));
  const redirect = {
    verdict: 'proxied',
    how: { kind: 'redirect', port: 7892 },
    responsible: { backend: 'nft', table: 'inet fw4', chain: 'openclash', handle: 7, effect: 'redirect to :7892' },
  };
  const forwarded = { verdict: 'forwarded', how: null, responsible: null };

  it('agrees: explain proxied by the same rule; explain forwarded and nothing took it', () => {
    assert.equal(compareTrace(packets[1]!, redirect).agree, true);
    assert.equal(compareTrace(packets[0]!, forwarded).agree, true);
  });

  it('disagrees, and says why: a different handle, or a different fate', () => {
    const other = compareTrace(packets[1]!, { ...redirect, responsible: { ...redirect.responsible, handle: 9 } });
    assert.equal(other.agree, false);
    assert.match(other.why[0]!, /handle 9, the trace handle 7/);
    const missed = compareTrace(packets[1]!, forwarded);
    assert.equal(missed.agree, false);
    assert.match(
      missed.why[0]!,
      /explain says the packet is forwarded, but the trace shows it taken by inet fw4 openclash handle 7/,
    );
    const phantom = compareTrace(packets[0]!, redirect);
    assert.equal(phantom.agree, false);
  });

  it('a tproxy rule with no listening socket shows no verdict: the mark it left is what counts', () => {
    const lines = [
      'trace id 0a1b2c3d inet replyguard_trace pre packet: iif "br-lan" ip saddr 192.168.50.10 ip daddr 203.0.113.50 ip protocol tcp tcp sport 443 tcp dport 40000 tcp flags == 0x12',
      'trace id 0a1b2c3d inet replyguard_trace pre policy accept ',
      'trace id 0a1b2c3d inet fw4 mangle_prerouting packet: iif "br-lan" ip saddr 192.168.50.10 ip daddr 203.0.113.50 ip protocol tcp tcp sport 443 tcp dport 40000',
      'trace id 0a1b2c3d inet fw4 mangle_prerouting rule meta nfproto ipv4 counter packets 0 bytes 0 jump openclash_mangle # handle 20 (verdict jump openclash_mangle)',
      'trace id 0a1b2c3d inet fw4 mangle_prerouting policy accept meta mark 0x00000162 ',
    ];
    const [p] = parseTrace(lines.join('\n'));
    assert.ok(p);
    assert.equal(traceFate(p).finalMark, 0x162);
    const tproxy = {
      verdict: 'proxied',
      how: { kind: 'tproxy', port: 7895, mark: 0x162 },
      responsible: {
        backend: 'nft',
        table: 'inet fw4',
        chain: 'openclash_mangle',
        handle: 9,
        effect: 'tproxy to :7895',
      },
    };
    const c = compareTrace(p, tproxy);
    assert.equal(c.agree, true, c.why.join('; '));
    assert.match(c.traced, /mark 0x162.*delivers to this router/);
    // Another mark (or none) is a real disagreement.
    assert.equal(compareTrace(p, { ...tproxy, how: { ...tproxy.how, mark: 0x1 } }).agree, false);
  });

  it('iptables explain hops (no handle) match by table and chain', () => {
    const ipt = parseTrace(read('iptables-nft-redirect-guard-toggle.txt'));
    const ack = ipt.find((p) => p.kind === 'ack')!;
    const c = compareTrace(ack, {
      verdict: 'proxied',
      how: { kind: 'redirect', port: 7892 },
      responsible: {
        backend: 'iptables',
        table: 'ip nat',
        chain: 'openclash',
        handle: null,
        effect: 'redirect to :7892',
      },
    });
    assert.equal(c.agree, true, c.why.join());
  });
});

describe('nft monitor ruleset lines (captured)', () => {
  it("lines about other tables are changes; replyguard's own are not", () => {
    const lines = read('nft-monitor-ruleset.txt').split('\n').filter(Boolean);
    assert.equal(lines.length, 4);
    for (const l of lines) assert.equal(isOwnMonitorLine(l), false, l);
    assert.equal(isOwnMonitorLine('add table inet replyguard'), true);
    assert.equal(isOwnMonitorLine('delete table inet replyguard_trace'), true);
    assert.equal(isOwnMonitorLine('add rule ip mangle PREROUTING counter jump replyguard_pre'), true);
    assert.equal(isOwnMonitorLine('add element inet replyguard in4 { 192.168.50.10 . 443 }'), true);
    // The guard's table and tagged rules are watched: a proxy or a user deleting them must be noticed.
    assert.equal(isOwnMonitorLine('delete table inet replyguard_guard'), false);
    assert.equal(
      isOwnMonitorLine('add rule inet fw4 mangle_prerouting ct state invalid return comment "replyguard-guard"'),
      false,
    );
  });
});
