// replyguard on a real OpenWrt 23.05 userland as the lab's side router (test/openwrt/rig.ts): installed
// with OpenWrt's opkg, run by its procd, against its fw4 and its nft. The proxy is OpenClash fake-ip on fw4
// (TCP REDIRECT, UDP TPROXY), its chains added into the real table inet fw4; the proxy's listener is a
// stand-in (the lab's accept-and-close service), the kernel the host's.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StatusDocument } from '../../src/status/status-schema';
import { createLab, type Lab } from '../lab/lab';
import { configureForwards, installReplyguard, routerSh, serviceInstances, waitRouterStatus } from './install';
import { rigUnavailable } from './rig';

const skip = rigUnavailable();
const TLS = '192.168.50.10:443';
const UDP = '192.168.50.10:51820';
const active = (s: StatusDocument, server: string) =>
  s.findings.some((f) => f.kind === 'reply_hijacked' && f.state === 'active' && f.server === server);

describe('OpenWrt side router: OpenClash fake-ip on fw4', { skip }, () => {
  let lab: Lab;
  before(async () => {
    lab = await createLab({ mode: 'openclash-fw4-fakeip', os: 'openwrt', tag: 'owrtnat' });
  });
  after(async () => {
    await lab?.destroy();
  });

  it('installs with opkg; default_postinst enables and starts it under procd; logread has its lines; no tc: eBPF looked for in /proc', async () => {
    const out = await installReplyguard(lab);
    assert.match(out, /Installing replyguard \(/);
    assert.match(out, /Installing luci-app-replyguard \(/);
    assert.match(out, /Installing luci-i18n-replyguard-zh-cn \(/);
    assert.doesNotMatch(out, /Collected errors|cannot find dependency|Failed/i);
    await routerSh(lab, 'test -L /etc/rc.d/S95replyguard');
    // uci-defaults took the LAN device from netifd's config: eth0 on this router, not the stock br-lan.
    assert.equal((await routerSh(lab, 'uci get replyguard.main.lan_interfaces')).trim(), 'eth0');
    const deadline = Date.now() + 10_000;
    let instances = await serviceInstances(lab);
    while (!instances.some((i) => i.running) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      instances = await serviceInstances(lab);
    }
    assert.ok(
      instances.some((i) => i.running && i.pid),
      `procd runs it: ${JSON.stringify(instances)}`,
    );
    await waitRouterStatus(lab, 'the first status', (s) => s.sensors?.conntrack?.state === 'running');
    assert.match(await routerSh(lab, 'logread -e replyguard'), /replyguard.*conntrack/);
    const s = await waitRouterStatus(lab, 'the first eBPF reading', (st) => st.sensors.ebpf?.state === 'running');
    assert.equal((await routerSh(lab, 'command -v tc; true')).trim(), '', 'the image has no tc');
    assert.equal(s.sensors.ebpf.way, 'proc');
    assert.deepEqual(s.sensors.ebpf.hooks, []);
  });

  it('the incident on real fw4: conntrack names the TCP hijack, the probe (OpenWrt nft) the UDP one', async () => {
    const restartedAt = new Date().toISOString();
    await configureForwards(lab, { probe: 'on', probe_interval: '1' }, 'restart');
    await waitRouterStatus(
      lab,
      'the restarted daemon with its probe',
      (s) => s.started_at >= restartedAt && s.sensors.probe.state === 'running' && s.sensors.probe.interval_s === 1,
    );
    const tls = await lab.tlsThroughForward({ timeoutMs: 3000 });
    assert.equal(tls.ok, false, 'the outside client fails');
    const udp = await lab.udpThroughForward({ timeoutMs: 1500 });
    assert.equal(udp.ok, false);
    const s = await waitRouterStatus(lab, 'both hijacks', (st) => active(st, TLS) && active(st, UDP));
    assert.equal(s.health, 'problem');
    assert.equal(s.sensors.probe.backend, 'nft');
    assert.equal(s.sensors.probe.last_error, undefined);
    const text = await routerSh(lab, 'replyguard status; true');
    assert.match(text, /BROKEN: TCP 192\.168\.50\.10:443 \(forward 'nas'\)/);
  });

  it('replyguard guard apply makes the forward work', async () => {
    await routerSh(lab, 'replyguard guard apply');
    const tls = await lab.tlsThroughForward({ timeoutMs: 3000 });
    assert.ok(tls.ok, tls.detail);
    const udp = await lab.udpThroughForward({ timeoutMs: 3000 });
    assert.ok(udp.ok, udp.detail);
  });

  it('guard = auto: after a firewall restart and the proxy re-adding its chains, the guard is back', async () => {
    await routerSh(
      lab,
      "uci set replyguard.main.guard='auto' && uci commit replyguard && /etc/init.d/replyguard reload",
    );
    await waitRouterStatus(lab, 'guard auto in place', (s) => s.guard.mode === 'auto' && s.guard.state === 'in_place');
    await lab.reloadProxyRules(); // /etc/init.d/firewall restart, then the proxy's chains again
    await waitRouterStatus(lab, 'the guard back in place', (s) => s.guard.state === 'in_place', 15_000);
    const deadline = Date.now() + 10_000;
    let tls = await lab.tlsThroughForward({ timeoutMs: 3000 });
    while (!tls.ok && Date.now() < deadline) tls = await lab.tlsThroughForward({ timeoutMs: 3000 });
    assert.ok(tls.ok, tls.detail);
  });

  it('opkg remove stops it and leaves no process and nothing in nft', async () => {
    await routerSh(lab, 'opkg remove luci-i18n-replyguard-zh-cn luci-app-replyguard replyguard');
    const ps = await routerSh(lab, 'ps w');
    assert.doesNotMatch(ps, /\/usr\/sbin\/replyguard|conntrack -E/);
    assert.doesNotMatch(await routerSh(lab, 'nft list ruleset'), /replyguard/);
    await routerSh(lab, 'test ! -e /etc/init.d/replyguard && test ! -e /etc/rc.d/S95replyguard');
  });
});
