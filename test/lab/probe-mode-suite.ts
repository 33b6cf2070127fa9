// The acceptance of the probe for one lab mode, as node:test suites: the
// outside client fails and reply_hijacked appears for the right server within
// probe_interval + 1 s (TCP and, where the mode takes it, UDP); the LAN
// server's own proxied traffic adds none; the mode's guard makes both work
// and the finding resolve; guarded from the start nothing is reported.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hijacksOf, type RunningDaemon } from '../helpers/daemon';
import { createLab, type Lab, MODE_TRAITS, type ProxyMode } from './lab';
import { activeHijacks, sleep, startProbeDaemon } from './probe-helpers';

const INTERVAL_S = 2;
/** The acceptance bound: a finding within probe_interval + 1 s of the failure. */
const FINDING_MS = INTERVAL_S * 1000 + 1000;
/** Passing replies are told one reading after they left, so resolving takes up to two readings. */
const PASS_MS = 2 * INTERVAL_S * 1000 + 2000;
const TLS_SERVER = '192.168.50.10:443';
const UDP_SERVER = '192.168.50.10:51820';
const PROBE_LINE = /^probe: (TCP|UDP) \S+ → 203\.0\.113\.50:\d+: \d+ reply packets? in, \d+ out in [\d.]+ s$/;

export function probeModeSuite(mode: ProxyMode, tag: string): void {
  const traits = MODE_TRAITS[mode];

  describe(`probe, ${mode}`, () => {
    let lab: Lab;
    let daemon: RunningDaemon;
    before(async () => {
      lab = await createLab({ mode, tag });
      daemon = await startProbeDaemon(lab, { intervalS: INTERVAL_S });
    });
    after(async () => {
      await daemon?.stop();
      await lab?.destroy();
    });

    it(`TCP: the outside client fails and reply_hijacked for ${TLS_SERVER} appears within probe_interval + 1 s`, async (t) => {
      const startedAt = Date.now();
      const res = await lab.tlsThroughForward({ timeoutMs: 3000 });
      assert.equal(res.ok, false, 'the forward should be broken');
      const failedAt = Date.now();
      await daemon.waitFor(
        'a reply_hijacked finding',
        (st) => activeHijacks(st, TLS_SERVER).length > 0,
        FINDING_MS + 2000,
      );
      const latency = Date.now() - failedAt;
      t.diagnostic(
        `${mode}: client: ${res.detail}; finding ${latency} ms after the failure, ${Date.now() - startedAt} ms after the request`,
      );
      assert.ok(latency <= FINDING_MS, `finding after ${latency} ms (limit ${FINDING_MS})`);
      // In nat REDIRECT modes conntrack is first; the probe confirms within two readings.
      const s = await daemon.waitFor(
        'the probe evidence',
        (st) => activeHijacks(st, TLS_SERVER).some((f) => f.evidence.some((e) => PROBE_LINE.test(e))),
        2 * INTERVAL_S * 1000 + 2000,
      );
      t.diagnostic(`${mode}: probe evidence ${Date.now() - failedAt} ms after the failure`);
      const [f] = activeHijacks(s, TLS_SERVER);
      assert.ok(f);
      t.diagnostic(`${mode}: ${f.evidence.filter((e) => e.startsWith('probe:')).join(' | ')}`);
      assert.equal(f.proto, 'tcp');
      assert.equal(f.forward, 'nas');
      assert.deepEqual(f.peers, [lab.addr.client]);
      assert.equal(s.health, 'problem');
      assert.equal(s.forwards.find((fw) => fw.name === 'nas')?.status, 'hijacked');
      const line = f.evidence.find((e) => PROBE_LINE.test(e))!;
      if (traits.tcp === 'timeout') assert.match(line, / in, 0 out /, 'TPROXY/TUN: nothing left');
      if (traits.tcp === 'timeout') assert.match(f.summary, /never leave towards the main router/);
      assert.ok(f.fix.length >= 2);
    });

    it(`UDP: the forward's request/response ${traits.udp ? 'fails and is reported' : 'works and is not reported'}`, async (t) => {
      const startedAt = Date.now();
      const res = await lab.udpThroughForward({ timeoutMs: traits.udp ? 1500 : 3000 });
      t.diagnostic(`${mode}: udp ${JSON.stringify(res)}`);
      if (!traits.udp) {
        assert.equal(res.ok, true, res.detail);
        await sleep(FINDING_MS);
        assert.deepEqual(hijacksOf(daemon.status()!, UDP_SERVER), []);
        return;
      }
      assert.equal(res.ok, false, 'UDP replies should be taken');
      const failedAt = Date.now();
      const s = await daemon.waitFor(
        'a UDP reply_hijacked finding',
        (st) => activeHijacks(st, UDP_SERVER).length > 0,
        FINDING_MS + 2000,
      );
      const latency = Date.now() - failedAt;
      t.diagnostic(
        `${mode}: UDP finding ${latency} ms after the failure, ${Date.now() - startedAt} ms after the request`,
      );
      assert.ok(latency <= FINDING_MS, `finding after ${latency} ms (limit ${FINDING_MS})`);
      const [f] = activeHijacks(s, UDP_SERVER);
      assert.equal(f?.proto, 'udp');
      assert.equal(f?.forward, 'wg');
      assert.ok(f?.evidence.some((e) => /^probe: UDP .* 0 out /.test(e)));
      assert.match(f?.fix[0] ?? '', /udp sport 51820/);
      assert.equal(s.forwards.find((fw) => fw.name === 'wg')?.status, 'hijacked');
    });

    it("the LAN server's own proxied outbound traffic adds no reply_hijacked", async () => {
      const counts = () =>
        hijacksOf(daemon.status()!)
          .map((f) => `${f.server} ${f.count}`)
          .sort();
      const before = counts();
      await lab.outboundFromServer({ timeoutMs: 1500 });
      await sleep(FINDING_MS);
      assert.deepEqual(counts(), before);
    });

    it('with the guard the forwards work and the findings resolve', async () => {
      await lab.setGuard(true);
      const tls = await lab.tlsThroughForward({ timeoutMs: 3000 });
      assert.equal(tls.ok, true, tls.detail);
      if (traits.udp) {
        const udp = await lab.udpThroughForward({ timeoutMs: 3000 });
        assert.equal(udp.ok, true, udp.detail);
      }
      const s = await daemon.waitFor(
        'the hijacks to resolve',
        (st) => activeHijacks(st).length === 0 && st.health !== 'problem',
        PASS_MS,
      );
      assert.equal(s.forwards.find((fw) => fw.name === 'nas')?.status, 'ok');
      // Another reading or two: nothing comes back.
      await sleep(FINDING_MS);
      assert.deepEqual(activeHijacks(daemon.status()!), []);
    });
  });

  describe(`probe, ${mode}, guarded from the start`, () => {
    let lab: Lab;
    let daemon: RunningDaemon;
    before(async () => {
      lab = await createLab({ mode, guard: true, tag: `${tag}g` });
      daemon = await startProbeDaemon(lab, { intervalS: INTERVAL_S });
    });
    after(async () => {
      await daemon?.stop();
      await lab?.destroy();
    });

    it('the forwards work, the probe sees the replies pass, and no reply_hijacked appears', async () => {
      for (let i = 0; i < 2; i++) {
        const tls = await lab.tlsThroughForward({ timeoutMs: 3000 });
        assert.equal(tls.ok, true, tls.detail);
      }
      const udp = await lab.udpThroughForward({ timeoutMs: 3000 });
      assert.equal(udp.ok, true, udp.detail);
      await lab.outboundFromServer({ timeoutMs: 1500 });
      const s = await daemon.waitFor(
        'the probe to see the TLS replies pass',
        (st) =>
          st.findings.some(
            (f) =>
              f.kind === 'asymmetric_reply' && f.server === TLS_SERVER && f.evidence.some((e) => PROBE_LINE.test(e)),
          ),
        PASS_MS,
      );
      await sleep(FINDING_MS);
      assert.deepEqual(hijacksOf(daemon.status()!), []);
      assert.equal(daemon.status()!.health, 'ok');
      assert.equal(s.forwards.find((fw) => fw.name === 'nas')?.status, 'ok');
    });
  });
}
