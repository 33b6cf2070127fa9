// Home Assistant sees the OpenWrt side router (test/openwrt/rig.ts): replyguard installed with opkg,
// MQTT to a real mosquitto on the server's LAN address (where a Home Assistant would be), and what HA
// would read: the device's "Visit" link is the router's LAN address, a forward without replies is not
// HA's own "unknown", and the Guard switch changes the router's config through uci. Then a router
// without ip-full (BusyBox's ip has no -j): the address sensor says it cannot read, and HA gets why.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Broker, startBroker, startClient, type TestClient } from '../helpers/mosquitto';
import { createLab, type Lab } from '../lab/lab';
import { configureForwards, installReplyguard, routerSh, waitRouterStatus } from './install';
import { rigUnavailable } from './rig';

const skip = rigUnavailable();
const NODE = 'owrt';
const PORT = 1883;

describe('OpenWrt side router: Home Assistant over MQTT', { skip }, () => {
  let lab: Lab;
  let broker: Broker;
  let client: TestClient;
  before(async () => {
    lab = await createLab({ mode: 'openclash-fw4-fakeip', os: 'openwrt', tag: 'owrtha' });
    broker = await startBroker({ port: PORT, host: lab.addr.server, spawn: (argv) => lab.spawn(lab.ns.server, argv) });
    client = await startClient(broker.url, ['homeassistant/#', `replyguard/${NODE}/#`], (argv) =>
      lab.spawn(lab.ns.server, argv),
    );
    await installReplyguard(lab);
    const at = new Date().toISOString();
    await routerSh(
      lab,
      [
        "uci set replyguard.mqtt.enabled='1'",
        `uci set replyguard.mqtt.url='mqtt://${lab.addr.server}:${PORT}'`,
        `uci set replyguard.mqtt.node_id='${NODE}'`,
      ].join(' && '),
    );
    await configureForwards(lab, {}, 'restart');
    await waitRouterStatus(lab, 'MQTT connected', (s) => s.started_at >= at && s.outputs.mqtt.state === 'connected');
  });
  after(async () => {
    await client?.stop();
    await broker?.destroy();
    await lab?.destroy();
  });

  it("the device's configuration_url is LuCI on the router's LAN address", async () => {
    // The first config may precede the address sensor's first reading; HA takes the device from the latest.
    const m = await client.waitFor(
      'the problem entity with a configuration_url',
      (x) =>
        x.topic === `homeassistant/binary_sensor/${NODE}/problem/config` && x.payload.includes('"configuration_url"'),
      10_000,
    );
    const device = (JSON.parse(m.payload) as { device: { configuration_url?: string; sw_version?: string } }).device;
    assert.equal(device.configuration_url, `http://${lab.addr.side}/cgi-bin/luci/admin/services/replyguard`);
    assert.match(device.sw_version ?? '', /OpenWrt 23\.05/);
  });

  it("a forward with no replies yet is published as no_replies_yet, an option of its sensor, not HA's unknown", async () => {
    const state = await client.waitFor('the nas state', (x) => x.topic === `replyguard/${NODE}/forward/nas/state`);
    assert.notEqual(state.payload, 'unknown');
    const cfg = await client.waitFor(
      'the nas entity',
      (x) => x.topic === `homeassistant/sensor/${NODE}/forward_nas/config`,
    );
    const options = (JSON.parse(cfg.payload) as { options: string[] }).options;
    assert.ok(options.includes(state.payload), `${state.payload} in ${options.join(',')}`);
    assert.ok(!options.includes('unknown'));
  });

  it('the Guard switch changes the config through uci (uci show has it, no staged changes left)', async () => {
    client.publish(`replyguard/${NODE}/guard/set`, 'ON');
    await waitRouterStatus(lab, 'guard auto', (s) => s.guard.mode === 'auto', 8000);
    assert.equal((await routerSh(lab, 'uci get replyguard.main.guard')).trim(), 'auto');
    assert.equal((await routerSh(lab, 'uci changes replyguard')).trim(), '', 'committed, nothing pending');
    assert.match(await routerSh(lab, 'logread -e replyguard'), /guard = auto committed with uci/);
    client.publish(`replyguard/${NODE}/guard/set`, 'OFF');
    await waitRouterStatus(lab, 'guard off', (s) => s.guard.mode === 'off', 8000);
    assert.equal((await routerSh(lab, 'uci get replyguard.main.guard')).trim(), 'off');
  });

  it("without ip-full, the address sensor is failed, health degraded, and HA's Health sensor gets why", async () => {
    // BusyBox's ip back on /sbin/ip, as on a router where ip-full was removed.
    await routerSh(lab, 'ln -sf ../bin/busybox /sbin/ip && /etc/init.d/replyguard restart');
    const s = await waitRouterStatus(
      lab,
      'the address sensor failed',
      (st) => st.sensors.addresses?.state === 'failed',
    );
    assert.match(s.sensors.addresses.last_error ?? '', /BusyBox's ip has no -j \(install ip-full\)/);
    assert.equal(s.health, 'degraded');
    type Summary = { health: string; sensor_errors: Record<string, string> | null };
    const m = await client.waitFor(
      'a degraded state naming the address sensor',
      (x) =>
        x.topic === `replyguard/${NODE}/state` &&
        (JSON.parse(x.payload) as Summary).sensor_errors?.addresses !== undefined,
      10_000,
    );
    const summary = JSON.parse(m.payload) as Summary;
    assert.equal(summary.health, 'degraded');
    assert.match(summary.sensor_errors?.addresses ?? '', /ip-full/);
  });
});
