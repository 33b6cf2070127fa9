// Probe readings through the detector (pure) into findings and status.json:
// keys, evidence, counting one flow once, who may clear what; plus the probe's
// config options and its place in health.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ForwardConfig } from '../../../src/config/config';
import { PROBE_DEFAULTS } from '../../../src/config/config';
import { ConfigProblems } from '../../../src/config/config-build';
import { parseConfigText } from '../../../src/config/config-text';
import { parseConntrackLine } from '../../../src/conntrack/conntrack-line';
import { Detector } from '../../../src/detector/detector';
import { makeLanView } from '../../../src/detector/lan-view';
import type { ProbeFlowCount, ProbeSample } from '../../../src/probe/probe-sample';
import { buildStatus, type StatusInputs } from '../../../src/status/status-document';
import type { ProbeSensorStatus } from '../../../src/status/status-schema';
import { renderStatusText } from '../../../src/status/status-text';

const FORWARDS: ForwardConfig[] = [
  { name: 'nas', host: '192.168.50.10', port: 443, proto: 'tcp', wanPort: 9443 },
  { name: 'wg', host: '192.168.50.10', port: 51820, proto: 'udp' },
];
const view = makeLanView(['192.168.50.0/24'], ['192.168.50.2'], FORWARDS, 'config');
const T0 = Date.parse('2026-11-25T00:00:00Z');

function flow(port: number, peerPort: number, inN: number, out: number, proto: 'tcp' | 'udp' = 'tcp'): ProbeFlowCount {
  return { proto, server: '192.168.50.10', serverPort: port, peer: '203.0.113.50', peerPort, in: inN, out };
}

function sample(at: number, flows: ProbeFlowCount[]): ProbeSample {
  return { at: T0 + at, generation: 1, flows, inFull: false, outFull: false };
}

function detector() {
  return new Detector(view, { maxFindings: 8, maxFlows: 64, problemHoldMs: 900_000 });
}

/** Two readings of the same counts: the deficit is confirmed. */
function twice(d: Detector, at: number, flows: ProbeFlowCount[]) {
  d.ingestProbe(sample(at, flows));
  return d.ingestProbe(sample(at + 300, flows));
}

function entry(line: string) {
  const r = parseConntrackLine(line);
  assert.ok('entry' in r, line);
  return r.entry;
}

const REDIRECTED =
  '    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443';
const UDP_PLAIN =
  '    [NEW] ipv4     2 udp      17 30 src=192.168.50.10 dst=203.0.113.50 sport=51820 dport=40001 [UNREPLIED] src=203.0.113.50 dst=192.168.50.10 sport=40001 dport=51820';

describe('Detector.ingestProbe', () => {
  it('turns a confirmed deficit into a reply_hijacked finding with the probe evidence and the mangle guard', () => {
    const d = detector();
    const first = d.ingestProbe(sample(0, [flow(443, 35000, 3, 0)]));
    assert.deepEqual([first.changed, first.pending], [false, true]);
    assert.deepEqual(d.findings(T0), []);
    const r = d.ingestProbe(sample(10_000, [flow(443, 35000, 12, 0)]));
    assert.equal(r.changed, true);
    const [f] = d.findings(T0 + 10_000);
    assert.ok(f);
    assert.equal(f.id, 'hijack-tcp-192.168.50.10-443');
    assert.equal(f.kind, 'reply_hijacked');
    assert.equal(f.state, 'active');
    assert.equal(f.forward, 'nas');
    assert.deepEqual(f.peers, ['203.0.113.50']);
    assert.equal(f.count, 1);
    assert.equal(f.diverted_to, undefined);
    assert.match(f.summary, /12 reply packets in, 0 out in 10 s\): a rule here \(TPROXY, TUN/);
    assert.deepEqual(f.evidence.slice(1), [
      'probe: TCP 192.168.50.10:443 → 203.0.113.50:35000: 12 reply packets in, 0 out in 10 s',
    ]);
    assert.match(
      f.fix[0]!,
      /openclash_mangle 'meta l4proto tcp ct state new tcp flags & \(fin\|syn\|rst\|ack\) != syn counter return'/,
    );
    assert.match(f.fix[0]!, /'ct state invalid counter return'/);
    assert.ok(f.fix.some((l) => /Lan Traffic Access List/.test(l)));
    assert.ok(!f.fix.some((l) => /tcp_loose/.test(l)), 'tcp_loose does not help TPROXY/TUN');
  });

  it('counts a flow once however many readings show it, and each new flow once', () => {
    const d = detector();
    twice(d, 0, [flow(443, 35000, 1, 0)]);
    twice(d, 2000, [flow(443, 35000, 3, 0)]);
    twice(d, 4000, [flow(443, 35000, 3, 0), flow(443, 35001, 2, 0)]);
    const [f] = d.findings(T0 + 5000);
    assert.equal(f?.count, 2);
    assert.equal(f?.evidence.length, 3, 'the summary and one line per flow');
    assert.equal(d.counters().hijackedReplies, 2);
  });

  it('reports a UDP forward with its own guard line', () => {
    const d = detector();
    twice(d, 0, [flow(51820, 40001, 1, 0, 'udp')]);
    const [f] = d.findings(T0 + 400);
    assert.equal(f?.id, 'hijack-udp-192.168.50.10-51820');
    assert.equal(f?.forward, 'wg');
    assert.match(f?.fix[0] ?? '', /'ip saddr 192\.168\.50\.10 udp sport 51820 counter return'/);
  });

  it("conntrack's plain UDP entry does not clear what the probe saw; the probe's passed replies do", () => {
    const d = detector();
    twice(d, 0, [flow(51820, 40001, 1, 0, 'udp')]);
    d.ingest(entry(UDP_PLAIN), UDP_PLAIN, T0 + 1000);
    const hijack = () => d.findings(T0 + 1500).find((f) => f.kind === 'reply_hijacked');
    assert.equal(hijack()?.state, 'active');
    const healthy = [flow(51820, 40001, 1, 0, 'udp'), flow(51820, 40002, 1, 1, 'udp')];
    d.ingestProbe(sample(2000, healthy));
    assert.equal(hijack()?.state, 'active', 'a pass is said one reading later');
    d.ingestProbe(sample(4000, healthy));
    assert.equal(hijack()?.state, 'resolved');
    const asym = d.findings(T0 + 4500).find((f) => f.kind === 'asymmetric_reply');
    assert.ok(
      asym?.evidence.includes('probe: UDP 192.168.50.10:51820 → 203.0.113.50:40002: 1 reply packet in, 1 out in 2.0 s'),
    );
  });

  it("drops conntrack's 'passes unchanged' for a UDP flow the probe proved swallowed", () => {
    const d = detector();
    d.ingest(entry(UDP_PLAIN), UDP_PLAIN, T0);
    assert.deepEqual(
      d.findings(T0).map((f) => f.kind),
      ['asymmetric_reply'],
    );
    twice(d, 100, [flow(51820, 40001, 1, 0, 'udp')]);
    assert.deepEqual(
      d.findings(T0 + 1000).map((f) => f.kind),
      ['reply_hijacked'],
    );
  });

  it("keeps conntrack's verdict (where the replies went) and counts the flow once when both see it", () => {
    const d = detector();
    d.ingest(entry(REDIRECTED), REDIRECTED, T0);
    twice(d, 100, [flow(443, 35660, 3, 2)]);
    const [f] = d.findings(T0 + 1000);
    assert.equal(f?.count, 1);
    assert.equal(f?.diverted_to, '192.168.50.2:7892');
    assert.match(f?.summary ?? '', /redirected to 192\.168\.50\.2:7892/);
    assert.ok(
      f?.evidence.some((e) =>
        e.startsWith('probe: TCP 192.168.50.10:443 → 203.0.113.50:35660: 3 reply packets in, 2 out'),
      ),
    );
    assert.ok(f?.evidence.some((e) => e.includes('sport=7892')));
  });

  it("a redirect conntrack saw is still cleared by conntrack's healthy replies after the probe confirmed it", () => {
    const d = detector();
    d.ingest(entry(REDIRECTED), REDIRECTED, T0);
    twice(d, 100, [flow(443, 35660, 3, 2)]);
    const healthy = REDIRECTED.replace('dport=35660', 'dport=35700').replace(
      'src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443',
      'src=203.0.113.50 dst=192.168.50.10 sport=35700 dport=443',
    );
    d.ingest(entry(healthy), healthy, T0 + 2000);
    assert.equal(d.hasActiveHijack(T0 + 2000), false);
  });

  it('a server losing one flow while another passes in the same reading stays hijacked', () => {
    const d = detector();
    d.ingestProbe(sample(0, [flow(443, 1, 4, 4), flow(443, 2, 2, 0)]));
    d.ingestProbe(sample(300, [flow(443, 1, 4, 4), flow(443, 2, 2, 0)]));
    assert.equal(d.hasActiveHijack(T0 + 300), true);
  });

  it('ignores flows to private peers or from outside the LAN (the LAN view may have changed)', () => {
    const d = detector();
    const privatePeer = { ...flow(443, 1, 1, 0), peer: '10.0.0.5' };
    const outsider = { ...flow(443, 2, 1, 0), server: '172.20.0.10' };
    twice(d, 0, [privatePeer, outsider]);
    assert.deepEqual(d.findings(T0 + 1000), []);
  });

  it('shows passed replies as asymmetric_reply and lets them resolve a probe hijack', () => {
    const d = detector();
    twice(d, 0, [flow(443, 1, 2, 0)]);
    twice(d, 3000, [flow(443, 1, 2, 0), flow(443, 2, 6, 6)]);
    const byKind = Object.fromEntries(d.findings(T0 + 3500).map((f) => [f.kind, f]));
    assert.equal(byKind.reply_hijacked?.state, 'resolved');
    assert.equal(byKind.asymmetric_reply?.severity, 'info');
    assert.equal(d.hasActiveHijack(T0 + 3500), false);
  });
});

describe('status.json with the probe', () => {
  const base = (probe?: ProbeSensorStatus, findings = detector().findings(T0)): StatusInputs => ({
    version: '0.0.0',
    nodeId: 'lab',
    startedAt: T0,
    now: T0 + 1000,
    conntrack: { state: 'running', events: 0, lost: 0, resyncs: 0, restarts: 0, parse_errors: 0 },
    lostRecently: false,
    lan: { interfaces: ['br-lan'], subnets: ['192.168.50.0/24'], source: 'config', router_addresses: [] },
    forwards: FORWARDS,
    findings,
    counters: detector().counters(),
    problemHoldS: 900,
    ...(probe ? { probe } : {}),
  });
  const probe = (state: ProbeSensorStatus['state'], required: boolean): ProbeSensorStatus => ({
    state,
    interval_s: 2,
    keys: 0,
    reinstalls: 0,
    required,
    ...(state === 'failed' ? { last_error: 'Operation not permitted' } : {}),
  });

  it('a failed probe degrades health in every mode; off (auto where nothing works) does not', () => {
    const on = buildStatus(base(probe('failed', true)));
    assert.equal(on.health, 'degraded');
    assert.match(on.headline, /probe failed \(Operation not permitted\)/);
    // probe = auto that installed and then cannot read is as blind as probe = on.
    assert.equal(buildStatus(base(probe('failed', false))).health, 'degraded');
    assert.equal(buildStatus(base(probe('off', false))).health, 'ok');
    assert.equal(buildStatus(base(probe('running', true))).sensors.probe.state, 'running');
    assert.equal(buildStatus(base()).sensors.probe.state, 'off');
  });

  it('lost conntrack events degrade health only where no running probe covers them', () => {
    const lost = (p?: ProbeSensorStatus) => buildStatus({ ...base(p), lostRecently: true });
    assert.equal(lost().health, 'degraded');
    assert.match(lost().headline, /events were lost recently/);
    assert.equal(lost(probe('failed', false)).health, 'degraded');
    assert.equal(lost(probe('off', false)).health, 'degraded');
    const covered = lost(probe('running', false));
    assert.equal(covered.health, 'ok');
    assert.doesNotMatch(covered.headline, /lost/);
  });

  it('a probe-found hijack makes the forward hijacked and is explained by `replyguard status`', () => {
    const d = detector();
    twice(d, 0, [flow(443, 35000, 4, 0)]);
    const doc = buildStatus({ ...base(probe('running', true), d.findings(T0 + 1000)) });
    assert.equal(doc.health, 'problem');
    assert.equal(doc.forwards.find((f) => f.name === 'nas')?.status, 'hijacked');
    const text = renderStatusText(doc, T0 + 1000, 120);
    assert.match(text, /BROKEN: TCP 192\.168\.50\.10:443 \(forward 'nas'\)/);
    assert.match(text, /probe: TCP 192\.168\.50\.10:443 → 203\.0\.113\.50:35000: 4 reply packets in, 0 out/);
    assert.match(text, /probe running, every 2 s/);
  });
});

describe('probe options in the config', () => {
  it('reads probe and probe_interval from main; leaving them out means the defaults', () => {
    const c = parseConfigText('[main]\nprobe = on\nprobe_interval = 5\n', 'x.ini');
    assert.equal(c.main.probe, 'on');
    assert.equal(c.main.probeInterval, 5);
    const d = parseConfigText('[main]\n', 'x.ini');
    assert.equal(d.main.probe, undefined);
    assert.deepEqual(PROBE_DEFAULTS, { probe: 'auto', probeInterval: 2 });
  });

  it('rejects values out of range, in the file:line, section, option style', () => {
    try {
      parseConfigText(
        "config main 'main'\n\toption probe 'maybe'\n\toption probe_interval '0'\n",
        '/etc/config/replyguard',
      );
      assert.fail('expected problems');
    } catch (err) {
      assert.ok(err instanceof ConfigProblems);
      assert.match(err.message, /replyguard:2, section 'main', option 'probe': "maybe" is not one of: auto, on, off/);
      assert.match(err.message, /option 'probe_interval': "0" is out of range \(1-60 seconds\)/);
    }
  });
});
