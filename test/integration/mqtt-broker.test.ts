// The MQTT output against a real mosquitto on the host's loopback (no lab):
// broker down at start, wrong password, TLS with a test CA, persistence,
// switching MQTT off and removing a forward. The daemon runs the built bundle
// with lan_interfaces = lo and watches the host's conntrack meanwhile; every
// case checks that detection keeps going whatever MQTT does.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUNDLE, type DaemonFollower, followDaemon } from '../helpers/daemon';
import {
  type Broker,
  freePort,
  makeTestCa,
  type Received,
  startBroker,
  startClient,
  type TestCa,
} from '../helpers/mosquitto';

type HostDaemon = DaemonFollower & { dir: string; configPath: string };

const dirs: string[] = [];

function configText(mqtt: string, forwards = ['nas', 'wg']): string {
  const fw = forwards
    .map((name, i) => `[forward.${name}]\nhost = 192.168.50.10\nport = ${443 + i}\nproto = tcp\n`)
    .join('');
  return `[main]\nlan_interfaces = lo\nlan_subnets = 192.168.50.0/24\nstatus_interval = 1\nlog_level = debug\n[mqtt]\n${mqtt}\n${fw}`;
}

async function startHostDaemon(config: string, dir?: string): Promise<HostDaemon> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'rg-mqtt-'));
  if (!dir) dirs.push(d);
  const configPath = join(d, 'replyguard.ini');
  writeFileSync(configPath, config);
  const stateDir = join(d, 'state');
  const child = spawn(process.execPath, [BUNDLE, 'run', '--config', configPath, '--state-dir', stateDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a SIGKILL to the group takes its conntrack child too.
    detached: true,
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  });
  const daemon = followDaemon(child, stateDir);
  await daemon.waitFor('conntrack running', (s) => s.sensors.conntrack.state === 'running');
  return { ...daemon, dir: d, configPath };
}

async function retainedNow(
  url: string,
  filters: string[],
  extra: string[] = [],
  ms = 700,
): Promise<Map<string, Received>> {
  const c = await startClient(url, filters, undefined, extra);
  await new Promise((r) => setTimeout(r, ms));
  await c.stop();
  return new Map(c.messages.filter((m) => m.retain).map((m) => [m.topic, m]));
}

const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;

after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('MQTT: broker down at start', () => {
  it('keeps detecting, reports connecting, logs the error once, connects when the broker comes', async () => {
    const port = await freePort();
    const daemon = await startHostDaemon(configText(`enabled = 1\nurl = mqtt://127.0.0.1:${port}\nnode_id = down1`));
    let broker: Broker | undefined;
    try {
      const s = await daemon.waitFor('mqtt error', (st) => st.outputs.mqtt.last_error !== undefined);
      assert.equal(s.outputs.mqtt.state, 'connecting');
      assert.match(s.outputs.mqtt.last_error!, /cannot connect to mqtt:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
      assert.notEqual(s.health, 'degraded', 'MQTT down is no detection problem');
      await new Promise((r) => setTimeout(r, 3500)); // several retries
      assert.equal(count(daemon.log(), /ECONNREFUSED/), 1, daemon.log());
      const before = daemon.status()!.updated_at;
      await new Promise((r) => setTimeout(r, 1200));
      assert.notEqual(daemon.status()!.updated_at, before, 'status.json keeps being written');
      broker = await startBroker({ port });
      await daemon.waitFor('connected', (st) => st.outputs.mqtt.state === 'connected', 15_000);
      const retained = await retainedNow(broker.url, ['homeassistant/#', 'replyguard/down1/#']);
      assert.equal(retained.get('replyguard/down1/availability')?.payload, 'online');
      assert.equal(retained.get('replyguard/down1/problem')?.payload, 'OFF');
      assert.ok(retained.has('homeassistant/binary_sensor/down1/problem/config'));
    } finally {
      await daemon.stop();
      await broker?.destroy();
    }
  });
});

describe('MQTT: username and password', () => {
  let broker: Broker;
  before(async () => {
    broker = await startBroker({ port: await freePort(), auth: { username: 'ha', password: 'right-pw' } });
  });
  after(async () => broker?.destroy());

  it('connects with the right login', async () => {
    const daemon = await startHostDaemon(
      configText(`enabled = 1\nurl = ${broker.url}\nusername = ha\npassword = right-pw\nnode_id = auth1`),
    );
    try {
      await daemon.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      const retained = await retainedNow(broker.url, ['replyguard/auth1/#'], ['-u', 'ha', '-P', 'right-pw']);
      assert.equal(retained.get('replyguard/auth1/availability')?.payload, 'online');
    } finally {
      await daemon.stop();
    }
  });

  it('fails clearly with a wrong password, once in the log, never showing it, and keeps detecting', async () => {
    const daemon = await startHostDaemon(
      configText(`enabled = 1\nurl = ${broker.url}\nusername = ha\npassword = wrong-pw-xyz\nnode_id = auth2`),
    );
    try {
      const s = await daemon.waitFor('failed', (st) => st.outputs.mqtt.state === 'failed');
      assert.match(s.outputs.mqtt.last_error!, /refused the login \(Not authorized\)|Bad username or password/);
      await new Promise((r) => setTimeout(r, 3500));
      assert.equal(count(daemon.log(), /refused the login/), 1, daemon.log());
      assert.doesNotMatch(daemon.log(), /wrong-pw-xyz/);
      assert.doesNotMatch(JSON.stringify(daemon.status()), /wrong-pw-xyz/);
      assert.equal(daemon.status()!.sensors.conntrack.state, 'running');
      assert.equal(daemon.status()!.outputs.mqtt.state, 'failed');
    } finally {
      await daemon.stop();
    }
  });
});

describe('MQTT: TLS with a test CA', () => {
  let broker: Broker;
  let ca: TestCa;
  let caDir: string;
  before(async () => {
    caDir = mkdtempSync(join(tmpdir(), 'rg-ca-'));
    dirs.push(caDir);
    ca = makeTestCa(caDir);
    broker = await startBroker({ port: await freePort(), tls: { port: await freePort(), ca } });
  });
  after(async () => broker?.destroy());

  it('connects with the right CA', async () => {
    const daemon = await startHostDaemon(
      configText(`enabled = 1\nurl = ${broker.tlsUrl}\nca_file = ${ca.caFile}\nnode_id = tls1`),
    );
    try {
      await daemon.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      const retained = await retainedNow(broker.tlsUrl!, ['replyguard/tls1/#'], ['--ca', ca.caFile]);
      assert.equal(retained.get('replyguard/tls1/availability')?.payload, 'online');
    } finally {
      await daemon.stop();
    }
  });

  it('fails clearly with the wrong CA and keeps detecting', async () => {
    const daemon = await startHostDaemon(
      configText(`enabled = 1\nurl = ${broker.tlsUrl}\nca_file = ${ca.otherCaFile}\nnode_id = tls2`),
    );
    try {
      const s = await daemon.waitFor('failed', (st) => st.outputs.mqtt.state === 'failed');
      assert.match(s.outputs.mqtt.last_error!, /TLS: the certificate of mqtts:\/\/127\.0\.0\.1:\d+ is not trusted/);
      assert.equal(s.sensors.conntrack.state, 'running');
    } finally {
      await daemon.stop();
    }
  });

  it('fails clearly when the system CAs do not know the broker', async () => {
    const daemon = await startHostDaemon(configText(`enabled = 1\nurl = ${broker.tlsUrl}\nnode_id = tls3`));
    try {
      const s = await daemon.waitFor('failed', (st) => st.outputs.mqtt.state === 'failed');
      assert.match(s.outputs.mqtt.last_error!, /not trusted/);
    } finally {
      await daemon.stop();
    }
  });

  it('insecure = 1 connects without the check and warns about it', async () => {
    const daemon = await startHostDaemon(
      configText(`enabled = 1\nurl = ${broker.tlsUrl}\ninsecure = 1\nnode_id = tls4`),
    );
    try {
      await daemon.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      assert.match(daemon.log(), /warn: mqtt: insecure=1: the certificate of .* is NOT checked/);
    } finally {
      await daemon.stop();
    }
  });
});

describe('MQTT: retained topics over time', () => {
  it('a broker restarted with persistence: reconnects and everything is still there', async () => {
    const broker = await startBroker({ port: await freePort(), persistence: true });
    const daemon = await startHostDaemon(configText(`enabled = 1\nurl = ${broker.url}\nnode_id = pers1`));
    try {
      await daemon.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      const connects = () => daemon.log().split('mqtt: connected to').length - 1;
      await broker.restart();
      const deadline = Date.now() + 15_000;
      while (connects() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(connects(), 2, daemon.log());
      await new Promise((r) => setTimeout(r, 300));
      const retained = await retainedNow(broker.url, ['homeassistant/#', 'replyguard/pers1/#']);
      assert.equal(retained.get('replyguard/pers1/availability')?.payload, 'online');
      assert.ok(retained.has('homeassistant/sensor/pers1/forward_wg/config'));
    } finally {
      await daemon.stop();
      await broker.destroy();
    }
  });

  it('a forward deleted while the daemon was away loses its entity and state', async () => {
    const broker = await startBroker({ port: await freePort() });
    const dir = mkdtempSync(join(tmpdir(), 'rg-mqtt-'));
    dirs.push(dir);
    const mqtt = `enabled = 1\nurl = ${broker.url}\nnode_id = del1`;
    try {
      const first = await startHostDaemon(configText(mqtt, ['nas', 'wg']), dir);
      await first.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      await new Promise((r) => setTimeout(r, 300));
      await first.stop();
      let retained = await retainedNow(broker.url, ['homeassistant/#', 'replyguard/del1/#']);
      assert.ok(retained.has('homeassistant/sensor/del1/forward_wg/config'));
      const second = await startHostDaemon(configText(mqtt, ['nas']), dir);
      await second.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      await new Promise((r) => setTimeout(r, 2500)); // the sweep window
      retained = await retainedNow(broker.url, ['homeassistant/#', 'replyguard/del1/#']);
      assert.ok(!retained.has('homeassistant/sensor/del1/forward_wg/config'), 'wg config cleared');
      assert.ok(!retained.has('replyguard/del1/forward/wg/state'), 'wg state cleared');
      assert.ok(retained.has('homeassistant/sensor/del1/forward_nas/config'));
      assert.match(second.log(), /cleared 2 stale retained topics/);
      await second.stop();
    } finally {
      await broker.destroy();
    }
  });

  it('retain = 0: state goes out live, and states retained by an earlier run are cleared', async () => {
    const broker = await startBroker({ port: await freePort() });
    const dir = mkdtempSync(join(tmpdir(), 'rg-mqtt-'));
    dirs.push(dir);
    try {
      const first = await startHostDaemon(configText(`enabled = 1\nurl = ${broker.url}\nnode_id = ret1`), dir);
      await first.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      await new Promise((r) => setTimeout(r, 300));
      await first.stop();
      assert.ok((await retainedNow(broker.url, ['replyguard/ret1/#'])).has('replyguard/ret1/problem'));
      const live = await startClient(broker.url, ['replyguard/ret1/#']);
      const second = await startHostDaemon(
        configText(`enabled = 1\nurl = ${broker.url}\nnode_id = ret1\nretain = 0`),
        dir,
      );
      await second.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      await live.waitFor(
        'live problem',
        (m) => m.topic === 'replyguard/ret1/problem' && !m.retain && m.payload === 'OFF',
      );
      await live.stop();
      await new Promise((r) => setTimeout(r, 2500)); // the sweep window
      const retained = await retainedNow(broker.url, ['replyguard/ret1/#']);
      assert.deepEqual([...retained.keys()], ['replyguard/ret1/availability']);
      assert.equal(retained.get('replyguard/ret1/availability')?.payload, 'online');
      await second.stop();
    } finally {
      await broker.destroy();
    }
  });

  it('switched off by SIGHUP: every retained topic is cleared at once', async () => {
    const broker = await startBroker({ port: await freePort() });
    const daemon = await startHostDaemon(configText(`enabled = 1\nurl = ${broker.url}\nnode_id = off1`));
    try {
      await daemon.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      await new Promise((r) => setTimeout(r, 300));
      assert.ok((await retainedNow(broker.url, ['homeassistant/#', 'replyguard/off1/#'])).size >= 14);
      writeFileSync(daemon.configPath, configText(`enabled = 0\nurl = ${broker.url}\nnode_id = off1`));
      daemon.child.kill('SIGHUP');
      await daemon.waitFor('disabled', (s) => s.outputs.mqtt.state === 'disabled');
      const retained = await retainedNow(broker.url, ['homeassistant/#', 'replyguard/off1/#']);
      assert.deepEqual([...retained.keys()], []);
      assert.equal(daemon.status()!.sensors.conntrack.state, 'running');
    } finally {
      await daemon.stop();
      await broker.destroy();
    }
  });

  it('switched off, then stopped (LuCI saves and restarts): the stop clears the retained topics', async () => {
    const broker = await startBroker({ port: await freePort() });
    const daemon = await startHostDaemon(configText(`enabled = 1\nurl = ${broker.url}\nnode_id = off3`));
    try {
      await daemon.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      await new Promise((r) => setTimeout(r, 300));
      writeFileSync(daemon.configPath, configText(`enabled = 0\nurl = ${broker.url}\nnode_id = off3`));
      await daemon.stop();
      assert.equal(daemon.child.exitCode, 0, daemon.log());
      const retained = await retainedNow(broker.url, ['homeassistant/#', 'replyguard/off3/#']);
      assert.deepEqual([...retained.keys()], []);
      assert.ok(!existsSync(join(daemon.dir, 'state', 'mqtt-announced.json')));
    } finally {
      await daemon.stop();
      await broker.destroy();
    }
  });

  it('switched off while stopped: the next start clears what the last run announced', async () => {
    const broker = await startBroker({ port: await freePort() });
    const dir = mkdtempSync(join(tmpdir(), 'rg-mqtt-'));
    dirs.push(dir);
    try {
      const first = await startHostDaemon(configText(`enabled = 1\nurl = ${broker.url}\nnode_id = off2`), dir);
      await first.waitFor('connected', (s) => s.outputs.mqtt.state === 'connected');
      await new Promise((r) => setTimeout(r, 300));
      process.kill(-first.child.pid!, 'SIGKILL'); // no clean stop: only the will runs
      await new Promise((r) => first.child.once('exit', r));
      assert.ok(existsSync(join(dir, 'state', 'mqtt-announced.json')));
      const second = await startHostDaemon(configText(`enabled = 0\nurl = ${broker.url}\nnode_id = off2`), dir);
      const deadline = Date.now() + 8000;
      while (!/cleared \d+ retained topics/.test(second.log()) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(second.log(), /switched off: cleared \d+ retained topics/);
      const retained = await retainedNow(broker.url, ['homeassistant/#', 'replyguard/off2/#']);
      assert.deepEqual([...retained.keys()], []);
      assert.ok(!existsSync(join(dir, 'state', 'mqtt-announced.json')));
      assert.equal(second.status()!.outputs.mqtt.state, 'disabled');
      await second.stop();
    } finally {
      await broker.destroy();
    }
  });
});
