// The incident on a real kernel: an outside TLS client through the main
// router's forward, a LAN server whose gateway is the side router, and the
// side router's proxy rules. The daemon runs in the side router's namespace.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { BUNDLE, hijacksOf, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { createLab, type Lab, type ProxyMode } from '../lab/lab';

for (const mode of ['iptables-redirect', 'nft-redirect'] as ProxyMode[]) {
  describe(`incident, ${mode}`, () => {
    let lab: Lab;
    let daemon: RunningDaemon;
    const server = '192.168.50.10:443';

    before(async () => {
      lab = await createLab({ mode, tag: mode.startsWith('nft') ? 'nft' : 'ipt' });
      daemon = await startDaemon(lab);
    });
    after(async () => {
      await daemon?.stop();
      await lab?.destroy();
    });

    it('the outside TLS connection fails and a reply_hijacked finding appears within 1 s', async () => {
      const res = await lab.tlsThroughForward();
      assert.equal(res.ok, false, 'the incident should reproduce');
      assert.match(res.detail, /reset|SSL|35/i);
      const failedAt = Date.now();
      const s = await daemon.waitFor('a reply_hijacked finding', (st) => hijacksOf(st, server).length > 0, 3000);
      const latency = Date.now() - failedAt;
      assert.ok(latency <= 1000, `finding after ${latency} ms`);
      const [f] = hijacksOf(s, server);
      assert.ok(f);
      assert.equal(f.severity, 'problem');
      assert.equal(f.state, 'active');
      assert.equal(f.forward, 'nas');
      assert.deepEqual(f.peers, [lab.addr.client]);
      assert.equal(f.diverted_to, `${lab.addr.side}:${lab.forward.redirectPort}`);
      assert.ok(
        f.evidence.some((e) => e.includes(`sport=${lab.forward.redirectPort}`)),
        'redirect port in the evidence',
      );
      assert.ok(f.fix.length >= 2);
      assert.equal(s.health, 'problem');
      assert.equal(s.forwards.find((fw) => fw.name === 'nas')?.status, 'hijacked');
      // The proxy resets the redirected entry within microseconds: its DESTROY (read through the second
      // conntrack child, often before the NEW) still gives the entry's lifetime.
      const withLifetime = await daemon.waitFor(
        'the lifetime of the hijacked entry',
        (st) =>
          /The entry was destroyed (within a millisecond of appearing|[\d.]+ (ms|s) after it appeared)\./.test(
            hijacksOf(st, server)[0]?.summary ?? '',
          ),
        3000,
      );
      assert.ok(withLifetime.sensors.conntrack.destroy?.events);
    });

    it('`replyguard status` tells what is broken and what to change', () => {
      let out = '';
      let code = 0;
      try {
        out = execFileSync(process.execPath, [BUNDLE, 'status', '--state-dir', daemon.stateDir], { encoding: 'utf8' });
      } catch (err) {
        const e = err as { status: number; stdout: string };
        code = e.status;
        out = e.stdout;
      }
      assert.equal(code, 2, 'exit code 2 = problem');
      assert.match(out, /PROBLEM/);
      assert.match(out, /BROKEN: TCP 192\.168\.50\.10:443 \(forward 'nas'\)/);
      assert.match(out, /What to change/);
      assert.match(out, /7892/);
    });

    it("the LAN server's own proxied outbound traffic adds no reply_hijacked", async () => {
      const before = hijacksOf(daemon.status()!);
      const res = await lab.outboundFromServer();
      assert.ok(lab.proxyAccepts() > 0, `the proxy took the outbound connection (${res.detail})`);
      await new Promise((r) => setTimeout(r, 300));
      const now = hijacksOf(daemon.status()!);
      assert.deepEqual(
        now.map((f) => [f.server, f.count]),
        before.map((f) => [f.server, f.count]),
      );
    });

    it('with the guard rule the connection works and the finding resolves', async () => {
      await lab.setGuard(true);
      const res = await lab.tlsThroughForward();
      assert.equal(res.ok, true, res.detail);
      const s = await daemon.waitFor('the hijack to resolve', (st) => st.health !== 'problem');
      assert.equal(hijacksOf(s, server)[0]?.state, 'resolved');
      assert.equal(s.forwards.find((fw) => fw.name === 'nas')?.status, 'ok');
      await lab.setGuard(false);
    });
  });

  describe(`guarded from the start, ${mode}`, () => {
    let lab: Lab;
    let daemon: RunningDaemon;
    before(async () => {
      lab = await createLab({ mode, guard: true, tag: 'grd' });
      daemon = await startDaemon(lab);
    });
    after(async () => {
      await daemon?.stop();
      await lab?.destroy();
    });

    it('the connection succeeds and no reply_hijacked appears', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await lab.tlsThroughForward();
        assert.equal(res.ok, true, res.detail);
      }
      const s = await daemon.waitFor('the asymmetric replies to be seen', (st) =>
        st.findings.some((f) => f.kind === 'asymmetric_reply'),
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(hijacksOf(daemon.status()!), []);
      assert.equal(s.health, 'ok');
      assert.equal(s.forwards.find((fw) => fw.name === 'nas')?.status, 'ok');
    });
  });
}

describe('no proxy at all', () => {
  let lab: Lab;
  let daemon: RunningDaemon;
  before(async () => {
    lab = await createLab({ mode: 'none', tag: 'none' });
    daemon = await startDaemon(lab);
  });
  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  it('the forward works and at most an asymmetric_reply info finding appears', async () => {
    const res = await lab.tlsThroughForward();
    assert.equal(res.ok, true, res.detail);
    assert.equal((await lab.udpThroughForward()).ok, true);
    await new Promise((r) => setTimeout(r, 500));
    const s = daemon.status()!;
    assert.deepEqual(hijacksOf(s), []);
    for (const f of s.findings) {
      assert.equal(f.kind, 'asymmetric_reply');
      assert.equal(f.severity, 'info');
    }
    assert.equal(s.health, 'ok');
  });
});
