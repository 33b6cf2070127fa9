import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ForwardConfig } from '../../../src/config/config';
import { parseConntrackLine } from '../../../src/conntrack/conntrack-line';
import { classifyFlow } from '../../../src/detector/classify-flow';
import { Detector } from '../../../src/detector/detector';
import { makeLanView } from '../../../src/detector/lan-view';

const FORWARDS: ForwardConfig[] = [
  { name: 'nas', host: '192.168.50.10', port: 443, proto: 'tcp', wanPort: 9443 },
  { name: 'wg', host: '192.168.50.10', port: 51820, proto: 'udp' },
];
const view = makeLanView(['192.168.50.0/24', 'fd50::/64'], ['192.168.50.2', 'fd50::2'], FORWARDS, 'config');

const HIJACK_NEW =
  '[1795565639.100000]\t    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=11';
const HIJACK_DESTROY =
  '[1795565639.100200]\t[DESTROY] ipv4     2 tcp      6 300 CLOSE src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=11';
const HEALTHY_NEW =
  '[1795565700.000000]\t    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35700 [UNREPLIED] src=203.0.113.50 dst=192.168.50.10 sport=35700 dport=443 id=12';
const OUTBOUND_PROXIED =
  '[1795565639.200000]\t    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=192.168.50.10 dst=203.0.113.50 sport=40000 dport=8443 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=40000 id=13';
const MASQUERADED =
  '    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.50.10 dst=198.51.100.7 sport=443 dport=50000 [UNREPLIED] src=198.51.100.7 dst=192.168.50.2 sport=50000 dport=443';
const UDP_FORWARD_TPROXY_VISIBLE =
  '    [NEW] ipv4     2 udp      17 30 src=192.168.50.10 dst=203.0.113.50 sport=51820 dport=40001 [UNREPLIED] src=127.0.0.1 dst=192.168.50.10 sport=7895 dport=51820';
const UDP_OTHER =
  '    [NEW] ipv4     2 udp      17 30 src=192.168.50.10 dst=203.0.113.50 sport=53000 dport=53 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7874 dport=53000';

function entry(line: string) {
  const r = parseConntrackLine(line);
  assert.ok('entry' in r, line);
  return r.entry;
}

function detector(holdMs = 900_000) {
  return new Detector(view, { maxFindings: 8, maxFlows: 64, problemHoldMs: holdMs });
}

describe('classifyFlow', () => {
  it('calls the incident a redirected reply to this router', () => {
    const v = classifyFlow(entry(HIJACK_NEW), view);
    assert.ok(v);
    assert.equal(v.fate, 'redirected');
    assert.equal(v.serverIp, '192.168.50.10');
    assert.equal(v.serverPort, 443);
    assert.equal(v.peerIp, '203.0.113.50');
    assert.deepEqual(v.divertedTo, { ip: '192.168.50.2', port: 7892, isRouter: true });
    assert.equal(v.forward, 'nas');
  });

  it('calls a plain inverse reply tuple merely asymmetric', () => {
    assert.equal(classifyFlow(entry(HEALTHY_NEW), view)?.fate, 'passed');
  });

  it('ignores connections the LAN host started (SYN_SENT)', () => {
    assert.equal(classifyFlow(entry(OUTBOUND_PROXIED), view), null);
  });

  it('sees masquerade to the router', () => {
    const v = classifyFlow(entry(MASQUERADED), view);
    assert.equal(v?.fate, 'masqueraded');
    assert.equal(v?.divertedTo?.isRouter, true);
  });

  it('counts UDP only for declared forwards', () => {
    assert.equal(classifyFlow(entry(UDP_FORWARD_TPROXY_VISIBLE), view)?.forward, 'wg');
    assert.equal(classifyFlow(entry(UDP_OTHER), view), null);
  });

  it('ignores UPDATE and DESTROY, private peers and non-LAN sources', () => {
    assert.equal(classifyFlow(entry(HIJACK_DESTROY), view), null);
    assert.equal(classifyFlow(entry(HIJACK_NEW.replace('203.0.113.50', '10.1.1.1')), view), null);
    assert.equal(
      classifyFlow(entry(HIJACK_NEW.replace('src=192.168.50.10 dst=203', 'src=172.20.0.9 dst=203')), view),
      null,
    );
    // The router's own connections are not a LAN server's replies.
    assert.equal(
      classifyFlow(entry(HIJACK_NEW.replace('src=192.168.50.10 dst=203', 'src=192.168.50.2 dst=203')), view),
      null,
    );
  });

  it('takes snapshot entries only while unreplied', () => {
    const snap = entry(
      'ipv4     2 tcp      6 299 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 mark=0 use=1 id=5',
    );
    assert.equal(classifyFlow(snap, view)?.fate, 'redirected');
    assert.equal(classifyFlow({ ...snap, unreplied: false }, view), null);
  });

  it('handles IPv6', () => {
    const v = classifyFlow(
      entry(
        '[NEW] ipv6 10 tcp 6 300 ESTABLISHED src=fd50::10 dst=2001:db8::5 sport=443 dport=40000 [UNREPLIED] src=fd50::2 dst=fd50::10 sport=7892 dport=443',
      ),
      view,
    );
    assert.equal(v?.fate, 'redirected');
    assert.equal(v?.divertedTo?.isRouter, true);
  });
});

describe('Detector', () => {
  it('aggregates hijacks per server with peers, counts, evidence and a fix', () => {
    const d = detector();
    const e1 = entry(HIJACK_NEW);
    assert.equal(d.ingest(e1, HIJACK_NEW, e1.timestamp! * 1000), true);
    const e2 = entry(HIJACK_DESTROY);
    d.ingest(e2, HIJACK_DESTROY, e2.timestamp! * 1000);
    const second = HIJACK_NEW.replace('dport=35660', 'dport=35661').replace('dport=443 id=11', 'dport=443 id=14');
    d.ingest(entry(second), second, 1795565640_000);
    const [f, ...rest] = d.findings(1795565641_000);
    assert.equal(rest.length, 0);
    assert.ok(f);
    assert.equal(f.kind, 'reply_hijacked');
    assert.equal(f.severity, 'problem');
    assert.equal(f.state, 'active');
    assert.equal(f.server, '192.168.50.10:443');
    assert.equal(f.forward, 'nas');
    assert.equal(f.count, 2);
    assert.deepEqual(f.peers, ['203.0.113.50']);
    assert.equal(f.diverted_to, '192.168.50.2:7892');
    assert.match(f.evidence.join('\n'), /sport=7892/);
    assert.match(f.summary, /7892/);
    assert.match(f.fix[0]!, /openclash/);
    assert.equal(f.first_seen, new Date(1795565639100).toISOString());
    assert.equal(d.hasActiveHijack(1795565641_000), true);
  });

  it('notes how fast the hijacked entry died (below 1 ms: no finer, two processes stamp NEW and DESTROY)', () => {
    const d = detector();
    const e1 = entry(HIJACK_NEW);
    d.ingest(e1, HIJACK_NEW, e1.timestamp! * 1000);
    const e2 = entry(HIJACK_DESTROY);
    assert.equal(d.ingest(e2, HIJACK_DESTROY, e2.timestamp! * 1000), true);
    assert.match(d.findings(1795565640_000)[0]!.summary, /destroyed within a millisecond of appearing\./);
  });

  it('gives a lifetime of a millisecond or more in ms', () => {
    const d = detector();
    const e1 = entry(HIJACK_NEW);
    d.ingest(e1, HIJACK_NEW, e1.timestamp! * 1000);
    const e2 = entry(HIJACK_DESTROY);
    assert.equal(d.ingest(e2, HIJACK_DESTROY, e1.timestamp! * 1000 + 3.4), true);
    assert.match(d.findings(1795565640_000)[0]!.summary, /destroyed 3\.4 ms after it appeared\./);
  });

  it('clears a hijack once healthy replies of the same server follow', () => {
    const d = detector();
    d.ingest(entry(HIJACK_NEW), HIJACK_NEW, 1795565639_100);
    d.ingest(entry(HEALTHY_NEW), HEALTHY_NEW, 1795565700_000);
    const findings = d.findings(1795565701_000);
    const hijack = findings.find((f) => f.kind === 'reply_hijacked');
    assert.equal(hijack?.state, 'resolved');
    assert.equal(d.hasActiveHijack(1795565701_000), false);
    assert.equal(findings.find((f) => f.kind === 'asymmetric_reply')?.severity, 'info');
  });

  it('lets a hijack expire after the hold time', () => {
    const d = detector(60_000);
    d.ingest(entry(HIJACK_NEW), HIJACK_NEW, 1_000_000);
    assert.equal(d.hasActiveHijack(1_030_000), true);
    assert.equal(d.nextExpiry(1_030_000), 30_000);
    assert.equal(d.hasActiveHijack(1_061_000), false);
  });

  it('does not count a snapshot of a flow the events already showed', () => {
    const d = detector();
    d.ingest(entry(HIJACK_NEW), HIJACK_NEW, 1_000_000);
    const snap =
      'ipv4     2 tcp      6 299 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 mark=0 use=1 id=11';
    assert.equal(d.ingest(entry(snap), snap, 1_000_500), false);
    assert.equal(d.findings(1_001_000)[0]!.count, 1);
  });

  it('stays within its caps and counts evictions', () => {
    const d = new Detector(view, { maxFindings: 4, maxFlows: 16, problemHoldMs: 1000 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1024, max: 65535 }), (sport, dport) => {
        const line = HIJACK_NEW.replace('sport=443 dport=35660', `sport=${sport} dport=${dport}`);
        d.ingest(entry(line), line, 1_000_000);
      }),
      { numRuns: 500 },
    );
    const c = d.counters();
    assert.ok(d.findings(1_000_000).length <= 4);
    assert.ok(c.flowsTracked <= 16);
    assert.ok(c.findingsEvicted > 0);
    assert.ok(c.flowsEvicted > 0);
  });
});
