// The Home Assistant "Guard" switch end to end: a real mosquitto and the daemon
// in the side router's namespace (OpenClash fw4 fake-ip rules), a test client
// acting as HA. ON puts the guard in place (the forward works) and writes
// guard = auto into the config file; OFF takes it out (the forward fails
// again) and writes guard = off; a bad command changes nothing.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/config-text';
import { labConfig, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { type Broker, startBroker, startClient, type TestClient } from '../helpers/mosquitto';
import { createLab, type Lab } from '../lab/lab';

const NODE = 'side1';
const ROOT = `replyguard/${NODE}`;
const PORT = 18831;

describe('the Guard switch (MQTT / Home Assistant)', () => {
  let lab: Lab;
  let broker: Broker;
  let daemon: RunningDaemon;
  let client: TestClient;

  before(async () => {
    lab = await createLab({ mode: 'openclash-fw4-fakeip', tag: 'gsw' });
    broker = await startBroker({ port: PORT, spawn: (argv) => lab.spawn(lab.ns.side, argv) });
    const text = labConfig(lab, {
      main: { guard: 'off' },
      extra: `[mqtt]\nenabled = 1\nurl = mqtt://127.0.0.1:${PORT}\nnode_id = ${NODE}\n`,
    });
    daemon = await startDaemon(lab, `; written by the test, kept by the switch\n${text}`);
    await daemon.waitFor('mqtt connected', (s) => s.outputs.mqtt.state === 'connected');
    client = await startClient(broker.url, ['homeassistant/switch/#', `${ROOT}/#`], (argv) =>
      lab.spawn(lab.ns.side, argv),
    );
  });
  after(async () => {
    await client?.stop();
    await daemon?.stop();
    await broker?.destroy();
    await lab?.destroy();
  });

  const configGuard = () => parseConfigText(readFileSync(daemon.configPath, 'utf8'), daemon.configPath).main.guard;

  it('is announced as a config switch, OFF while guard = off, and the guard is reported missing', async () => {
    const disc = await client.waitFor(
      'the switch config',
      (m) => m.topic === `homeassistant/switch/${NODE}/guard/config`,
    );
    const p = JSON.parse(disc.payload) as Record<string, unknown>;
    assert.equal(p.entity_category, 'config');
    assert.equal(p.command_topic, `${ROOT}/guard/set`);
    assert.equal(disc.retain, true);
    await client.waitFor('state OFF', (m) => m.topic === `${ROOT}/guard` && m.payload === 'OFF');
    await daemon.waitFor('guard missing', (s) => s.guard.state === 'missing', 10_000);
    assert.equal((await lab.tlsThroughForward({ timeoutMs: 3000 })).ok, false, 'the incident reproduces');
  });

  it('ON: the guard goes in, the forward works, state ON, guard = auto written to the config file', async () => {
    client.publish(`${ROOT}/guard/set`, 'ON');
    await daemon.waitFor('guard in place', (s) => s.guard.mode === 'auto' && s.guard.state === 'in_place', 10_000);
    await client.waitFor('state ON', (m) => m.topic === `${ROOT}/guard` && m.payload === 'ON');
    const r = await lab.tlsThroughForward({ timeoutMs: 3000 });
    assert.equal(r.ok, true, r.detail);
    assert.equal(configGuard(), 'auto');
    const text = readFileSync(daemon.configPath, 'utf8');
    assert.match(text, /^; written by the test, kept by the switch$/m, 'the rest of the file is kept');
    const ev = await client.waitFor(
      'guard_applied event',
      (m) => m.topic === `${ROOT}/event` && m.payload.includes('guard_applied'),
    );
    assert.equal(ev.retain, false);
    // The switch's attributes: what the guard is doing.
    const state = JSON.parse(client.last(`${ROOT}/state`)!.payload) as { guard: { state: string; applies: number } };
    assert.equal(state.guard.state, 'in_place');
  });

  it('a bad payload changes nothing and is named in the log', async () => {
    client.publish(`${ROOT}/guard/set`, 'MAYBE');
    await daemon.waitLog(/guard\/set: expected ON or OFF, got "MAYBE"; ignored/);
    assert.equal(daemon.status()!.guard.mode, 'auto');
    assert.equal(daemon.status()!.guard.state, 'in_place');
    assert.equal(configGuard(), 'auto');
  });

  it('OFF: the guard comes out, the forward fails again, guard = off written', async () => {
    const sent = Date.now();
    client.publish(`${ROOT}/guard/set`, 'OFF');
    await daemon.waitFor('guard removed', (s) => s.guard.mode === 'off' && s.guard.rules === 0, 10_000);
    await client.waitFor(
      'state OFF again',
      (m) => m.topic === `${ROOT}/guard` && m.payload === 'OFF' && m.receivedAt >= sent,
    );
    assert.equal(configGuard(), 'off');
    assert.equal((await lab.tlsThroughForward({ timeoutMs: 3000 })).ok, false, 'without the guard the forward fails');
    await daemon.waitLog(/guard: auto → off \(switched from Home Assistant\)[\s\S]*guard: removed \d+ rule/);
  });
});
