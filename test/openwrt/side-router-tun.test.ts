// replyguard on OpenWrt 23.05's own userland (test/openwrt/rig.ts) with OpenClash TUN on fw4: conntrack
// sees nothing of this hijack (the SYN-ACK itself is marked into utun), so the probe, reading its counters
// with OpenWrt's nft (no interactive CLI), is what catches it. Then procd's side: a config the daemon cannot
// use, procd giving up, and the fixed config's reload bringing it back. The utun device has no reader (a
// stand-in for Clash's TUN stack: packets routed into it vanish, as the swallowed replies do).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StatusDocument } from '../../src/status/status-schema';
import { createLab, type Lab } from '../lab/lab';
import { configureForwards, installReplyguard, routerSh, serviceInstances, waitRouterStatus } from './install';
import { rigUnavailable } from './rig';

const skip = rigUnavailable();
const TLS = '192.168.50.10:443';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const active = (s: StatusDocument, server: string) =>
  s.findings.some((f) => f.kind === 'reply_hijacked' && f.state === 'active' && f.server === server);

async function waitInstances(lab: Lab, what: string, pred: (running: boolean) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const instances = await serviceInstances(lab);
    if (pred(instances.some((i) => i.running))) return instances;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(instances)}`);
    await sleep(250);
  }
}

describe('OpenWrt side router: OpenClash TUN on fw4', { skip }, () => {
  let lab: Lab;
  before(async () => {
    lab = await createLab({ mode: 'tun', os: 'openwrt', tag: 'owrttun' });
    await installReplyguard(lab);
    const at = new Date().toISOString();
    await configureForwards(lab, { probe_interval: '1' }, 'restart');
    await waitRouterStatus(lab, 'the daemon', (s) => s.started_at >= at && s.sensors.probe.state === 'running');
  });
  after(async () => {
    await lab?.destroy();
  });

  it('the probe, reading with OpenWrt nft, catches the TUN hijack that conntrack cannot see', async () => {
    const tls = await lab.tlsThroughForward({ timeoutMs: 3000 });
    assert.equal(tls.ok, false, 'the client times out');
    const s = await waitRouterStatus(lab, 'the hijack', (st) => active(st, TLS), 8000);
    assert.equal(s.health, 'problem');
    assert.equal(s.sensors.probe.state, 'running');
    assert.equal(s.sensors.probe.last_error, undefined);
    const finding = s.findings.find((f) => f.kind === 'reply_hijacked' && f.server === TLS)!;
    assert.equal(finding.diverted_to, undefined, 'seen by the probe, not by a redirected conntrack entry');
  });

  it('explain on stock fw4 with the proxy prints no loader warnings and names the TUN rule', async () => {
    const out = await routerSh(lab, 'replyguard explain --from 192.168.50.10:443 --to 203.0.113.50:40000; true');
    assert.match(out, /Verdict: PROXIED via tun device utun/);
    assert.doesNotMatch(out, /Loader messages/);
  });

  it('a config it cannot use: exit 78, procd gives up; the fixed config and a reload bring it back', async () => {
    await routerSh(
      lab,
      "uci set replyguard.main.no_such_option='1' && uci commit replyguard && /etc/init.d/replyguard restart",
    );
    // respawn 3600 5 5: five quick failures 5 s apart, then procd stops trying.
    await waitInstances(lab, 'procd to give up', (running) => !running, 45_000);
    await sleep(6000);
    assert.equal(
      (await serviceInstances(lab)).some((i) => i.running),
      false,
      'still given up',
    );
    const log = await routerSh(lab, 'logread -e replyguard');
    assert.match(log, /no_such_option/, 'the log names what is wrong');
    const at = new Date().toISOString();
    await routerSh(
      lab,
      'uci delete replyguard.main.no_such_option && uci commit replyguard && /etc/init.d/replyguard reload',
    );
    await waitInstances(lab, 'the daemon back', (running) => running, 10_000);
    await waitRouterStatus(lab, 'a fresh status', (s) => s.started_at >= at && s.sensors.conntrack.state === 'running');
  });

  it('uci set + commit + reload reaches the running daemon (a forward added is in status.json)', async () => {
    const before = (await serviceInstances(lab)).find((i) => i.running)!.pid;
    await routerSh(
      lab,
      [
        'uci set replyguard.web=forward',
        "uci set replyguard.web.host='192.168.50.10'",
        "uci set replyguard.web.port='8080'",
        "uci set replyguard.web.proto='tcp'",
        'uci commit replyguard',
        '/etc/init.d/replyguard reload',
      ].join(' && '),
    );
    await waitRouterStatus(lab, 'the new forward', (s) => s.forwards.some((f) => f.name === 'web'), 5000);
    assert.equal((await serviceInstances(lab)).find((i) => i.running)!.pid, before, 'reloaded, not restarted');
  });
});
