// MQTT / Home Assistant end to end on a real kernel: the incident lab, a real
// mosquitto and the daemon, both inside the side router's namespace (it has
// its own loopback), and a test client there too.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { labConfig, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { type Broker, type Received, startBroker, startClient, type TestClient } from '../helpers/mosquitto';
import { createLab, type Lab } from '../lab/lab';

const NODE = 'side1';
const ROOT = `replyguard/${NODE}`;
const PORT = 18830;
const HOLD_S = 3;
const DISCOVERY = [
  'binary_sensor/side1/problem',
  'sensor/side1/health',
  'sensor/side1/affected_forwards',
  'sensor/side1/hijacked_replies',
  'sensor/side1/last_detection',
  'sensor/side1/proxy',
  'sensor/side1/events_lost',
  'event/side1/events',
  'button/side1/recheck',
  'switch/side1/guard',
  'sensor/side1/forward_nas',
  'sensor/side1/forward_wg',
].map((t) => `homeassistant/${t}/config`);

function configText(lab: Lab): string {
  return labConfig(lab, {
    main: { problem_hold: HOLD_S },
    extra: `[mqtt]\nenabled = 1\nurl = mqtt://127.0.0.1:${PORT}\nnode_id = ${NODE}\n`,
  });
}

/** Retained messages a fresh subscriber gets for `filters`, collected for a moment. */
async function retainedNow(lab: Lab, filters: string[], ms = 700): Promise<Map<string, Received>> {
  const c = await startClient(`mqtt://127.0.0.1:${PORT}`, filters, (argv) => lab.spawn(lab.ns.side, argv));
  await new Promise((r) => setTimeout(r, ms));
  await c.stop();
  return new Map(c.messages.filter((m) => m.retain).map((m) => [m.topic, m]));
}

describe('MQTT / Home Assistant in the lab', () => {
  let lab: Lab;
  let broker: Broker;
  let daemon: RunningDaemon;
  let client: TestClient;
  let afterHijack = 0;

  before(async () => {
    lab = await createLab({ mode: 'iptables-redirect', tag: 'mqtt' });
    broker = await startBroker({ port: PORT, spawn: (argv) => lab.spawn(lab.ns.side, argv) });
    daemon = await startDaemon(lab, configText(lab));
    await daemon.waitFor('mqtt connected', (s) => s.outputs.mqtt.state === 'connected');
    client = await startClient(broker.url, ['homeassistant/#', `${ROOT}/#`], (argv) => lab.spawn(lab.ns.side, argv));
  });
  after(async () => {
    await client?.stop();
    await daemon?.stop();
    await broker?.destroy();
    await lab?.destroy();
  });

  it('announces every entity with retained, valid discovery configs and availability online', async () => {
    const retained = await retainedNow(lab, ['homeassistant/#', `${ROOT}/#`]);
    for (const topic of DISCOVERY) {
      const m = retained.get(topic);
      assert.ok(m, `retained ${topic}`);
      const p = JSON.parse(m.payload) as Record<string, unknown>;
      assert.equal(typeof p.unique_id, 'string');
      assert.ok(p.device && p.origin && p.availability, topic);
      assert.ok(p.state_topic || p.command_topic, topic);
    }
    assert.equal(retained.get(`${ROOT}/availability`)?.payload, 'online');
    assert.equal(retained.get(`${ROOT}/problem`)?.payload, 'OFF');
    // Before any outside client: unknown, or already at_risk once the ruleset was read (the proxy's rules predict it).
    assert.ok(['unknown', 'at_risk'].includes(String(retained.get(`${ROOT}/forward/nas/state`)?.payload)));
    await daemon.waitFor('the prediction', (s) => s.forwards.find((f) => f.name === 'nas')?.status === 'at_risk');
    assert.equal(daemon.status()?.outputs.mqtt.state, 'connected');
  });

  it('the hijack: problem ON, hijack_detected, forward hijacked, within 1 s of the status change', async () => {
    const res = await lab.tlsThroughForward();
    assert.equal(res.ok, false, 'the incident should reproduce');
    const s = await daemon.waitFor('problem', (st) => st.health === 'problem', 3000);
    const changedAt = Date.parse(s.updated_at);
    const on = await client.waitFor('problem ON', (m) => m.topic === `${ROOT}/problem` && m.payload === 'ON');
    const ev = await client.waitFor(
      'hijack_detected',
      (m) => m.topic === `${ROOT}/event` && m.payload.includes('hijack_detected'),
    );
    const fw = await client.waitFor(
      'nas hijacked',
      (m) => m.topic === `${ROOT}/forward/nas/state` && m.payload === 'hijacked',
    );
    for (const m of [on, ev, fw])
      assert.ok(m.receivedAt - changedAt <= 1000, `${m.topic} after ${m.receivedAt - changedAt} ms`);
    assert.equal(ev.retain, false);
    const event = JSON.parse(ev.payload) as { event_type: string; forward: string; server: string };
    assert.equal(event.forward, 'nas');
    assert.equal(event.server, `${lab.addr.server}:${lab.forward.serverPort}`);
    const attrs = JSON.parse(client.last(`${ROOT}/findings`)!.payload) as {
      count: number;
      findings: Array<{ diverted_to: string }>;
    };
    assert.equal(attrs.count, 1);
    assert.equal(attrs.findings[0]!.diverted_to, `${lab.addr.side}:${lab.forward.redirectPort}`);
    const state = JSON.parse(client.last(`${ROOT}/state`)!.payload) as Record<string, unknown>;
    assert.equal(state.affected_forwards, 1);
    assert.match(String(state.proxy), /OpenClash/);
    afterHijack = client.messages.length;
  });

  it('after problem_hold the problem turns OFF with hijack_cleared', async () => {
    const later = (m: Received) => client.messages.indexOf(m) >= afterHijack;
    const off = await client.waitFor(
      'problem OFF',
      (m) => later(m) && m.topic === `${ROOT}/problem` && m.payload === 'OFF',
      (HOLD_S + 3) * 1000,
    );
    const cleared = await client.waitFor(
      'hijack_cleared',
      (m) => m.topic === `${ROOT}/event` && m.payload.includes('hijack_cleared'),
    );
    assert.ok(cleared);
    assert.ok(off);
    assert.notEqual(client.last(`${ROOT}/forward/nas/state`)?.payload, 'hijacked');
  });

  it('the Re-check now button runs a re-check', async () => {
    client.publish(`${ROOT}/recheck`, 'PRESS');
    const deadline = Date.now() + 3000;
    while (!/re-check requested/.test(daemon.log()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.match(daemon.log(), /re-check requested/);
  });

  it('Home Assistant coming online makes it announce again', async () => {
    const n = client.messages.length;
    client.publish('homeassistant/status', 'online');
    const again = (topic: string) => (m: Received) => client.messages.indexOf(m) >= n && m.topic === topic;
    await client.waitFor('discovery again', again(DISCOVERY[0]!), 8000);
    await client.waitFor('availability again', again(`${ROOT}/availability`), 1000);
    await client.waitFor('state again', again(`${ROOT}/problem`), 1000);
  });

  it('a broker restarted without persistence gets discovery, availability and state again', async () => {
    const connects = () => daemon.log().split('mqtt: connected to').length - 1;
    const before = connects();
    await broker.restart();
    // status.json may still say "connected" before the daemon noticed: count its connects instead.
    const deadline = Date.now() + 15_000;
    while (connects() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(connects(), before + 1, daemon.log());
    await new Promise((r) => setTimeout(r, 300));
    const retained = await retainedNow(lab, ['homeassistant/#', `${ROOT}/#`]);
    for (const topic of DISCOVERY) assert.ok(retained.has(topic), `retained ${topic} after restart`);
    assert.equal(retained.get(`${ROOT}/availability`)?.payload, 'online');
    assert.ok(retained.has(`${ROOT}/state`));
    assert.ok(retained.has(`${ROOT}/forward/nas/state`));
    assert.match(daemon.log(), /mqtt: connection to .* lost/);
  });

  it('a clean stop publishes offline itself', async () => {
    await daemon.stop();
    const retained = await retainedNow(lab, [`${ROOT}/availability`]);
    assert.equal(retained.get(`${ROOT}/availability`)?.payload, 'offline');
  });

  it('SIGKILL: the broker publishes the will, offline', async () => {
    daemon = await startDaemon(lab, configText(lab));
    await daemon.waitFor('mqtt connected', (s) => s.outputs.mqtt.state === 'connected');
    assert.equal(
      (await retainedNow(lab, [`${ROOT}/availability`], 400)).get(`${ROOT}/availability`)?.payload,
      'online',
    );
    // The whole process group (lab.spawn makes the daemon its leader): its conntrack child goes too.
    process.kill(-daemon.child.pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    const retained = await retainedNow(lab, [`${ROOT}/availability`]);
    assert.equal(retained.get(`${ROOT}/availability`)?.payload, 'offline');
    rmSync(daemon.dir, { recursive: true, force: true });
  });
});
