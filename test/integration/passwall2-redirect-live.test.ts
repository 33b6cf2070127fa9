// Passwall2's default install (tcp_proxy_way redirect, tcp_redir_ports 1:65535; lab mode passwall2-redirect):
// the daemon on the side router catches the reset TCP forward and the swallowed UDP forward and attributes
// each to Passwall2 and the chain that takes it — TCP to the REDIRECT in PSW2_NAT (reached from Passwall2's
// own dstnat chain), UDP to PSW2_MANGLE — with Passwall2's own option first among the fixes.
// Run as root: CI=true node --import tsx --test test/integration/passwall2-redirect-live.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureBundle } from '../helpers/bundle';
import type { RunningDaemon } from '../helpers/daemon';
import { createLab, type Lab } from '../lab/lab';
import { activeHijacks, startProbeDaemon } from '../lab/probe-helpers';

const TLS_SERVER = '192.168.50.10:443';
const UDP_SERVER = '192.168.50.10:51820';

describe("Passwall2's default redirect mode, live", () => {
  let lab: Lab;
  let daemon: RunningDaemon;
  before(async () => {
    ensureBundle();
    lab = await createLab({ mode: 'passwall2-redirect', tag: 'pw2r' });
    daemon = await startProbeDaemon(lab, { intervalS: 1 });
  });
  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  it('the reset TCP forward is caught and attributed to Passwall2, PSW2_NAT, with tcp_redir_ports first', async () => {
    const tls = await lab.tlsThroughForward({ timeoutMs: 2500 });
    assert.equal(tls.ok, false, 'the forward should be broken');
    assert.match(tls.detail, /reset/i);
    const s = await daemon.waitFor(
      'an attributed TCP finding',
      (st) => activeHijacks(st, TLS_SERVER).some((f) => f.rule),
      5000,
    );
    const [f] = activeHijacks(s, TLS_SERVER);
    assert.ok(f);
    assert.equal(f.forward, 'nas');
    assert.equal(f.proxy, 'Passwall2');
    assert.equal(f.rule?.table, 'inet passwall2');
    assert.equal(f.rule?.chain, 'PSW2_NAT');
    assert.match(f.rule?.text ?? '', /redirect to :1041/);
    assert.match(f.proxy_fix?.[0] ?? '', /passwall2\.@global_forwarding\[0\]\.tcp_redir_ports=/);
    assert.ok(
      f.proxy_fix?.some((l) => /inet passwall2 PSW2_NAT/.test(l)),
      'the guard for the very chain',
    );
  });

  it('the swallowed UDP forward is caught and attributed to Passwall2, PSW2_MANGLE, with udp_redir_ports first', async () => {
    const udp = await lab.udpThroughForward({ timeoutMs: 1500 });
    assert.equal(udp.ok, false, 'UDP replies should be taken');
    const s = await daemon.waitFor(
      'an attributed UDP finding',
      (st) => activeHijacks(st, UDP_SERVER).some((f) => f.rule),
      5000,
    );
    const [f] = activeHijacks(s, UDP_SERVER);
    assert.ok(f);
    assert.equal(f.forward, 'wg');
    assert.equal(f.proxy, 'Passwall2');
    assert.equal(f.rule?.table, 'inet passwall2');
    assert.equal(f.rule?.chain, 'PSW2_MANGLE');
    assert.match(f.proxy_fix?.[0] ?? '', /passwall2\.@global_forwarding\[0\]\.udp_redir_ports=/);
  });
});
