// Broker flapping under load: mosquitto killed or restarted 10
// times in quick succession while connections (and hijacks) flow through the
// lab. The daemon must keep detecting, reconnect, end with the retained
// `problem` matching status.json, keep its memory flat (nothing is queued
// while disconnected) and keep its log short (errors once per change).
//
// Broker, daemon and test client all run in the lab's side-router namespace,
// whose loopback is the lab's own: the broker's port is free there by construction.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { labConfig, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { type Broker, startBroker, startClient, type TestClient } from '../helpers/mosquitto';
import { createLab, type Lab } from '../lab/lab';

const NODE = 'flap1';
const PORT = 18841;
const HOLD_S = 4;
const FLAPS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

describe('MQTT: the broker flapping while events flow', () => {
  let lab: Lab;
  let broker: Broker;
  let daemon: RunningDaemon;
  let client: TestClient;

  before(async () => {
    lab = await createLab({ mode: 'iptables-redirect', tag: 'flap' });
    broker = await startBroker({ port: PORT, spawn: (argv) => lab.spawn(lab.ns.side, argv) });
    daemon = await startDaemon(
      lab,
      labConfig(lab, {
        main: { problem_hold: HOLD_S, status_interval: 1 },
        extra: `[mqtt]\nenabled = 1\nurl = mqtt://127.0.0.1:${PORT}\nnode_id = ${NODE}\n`,
      }),
    );
    await daemon.waitFor('mqtt connected', (s) => s.outputs.mqtt.state === 'connected', 10_000);
    client = await startClient(broker.url, [`replyguard/${NODE}/problem`], (argv) => lab.spawn(lab.ns.side, argv));
  });
  after(async () => {
    await client?.stop();
    await daemon?.stop();
    await broker?.destroy();
    await lab?.destroy();
  });

  it('keeps detecting, reconnects, ends with the right retained state, memory flat, log short', {
    timeout: 85_000,
  }, async () => {
    const pid = daemon.child.pid!;
    const logLinesBefore = daemon.log().split('\n').length;
    // Warm up (MQTT.js, the first hijack's attribution) before taking the memory baseline.
    await lab.tlsThroughForward();
    await daemon.waitFor('the first hijack', (s) => s.counters.hijackedReplies >= 1, 5000);
    await sleep(1500);
    const rssBefore = rssKb(pid);
    const before = daemon.status()!;

    // Load: a stream of short UDP flows from the server to the side router (1000 a second, each a NEW and
    // later a DESTROY event), and a hijacked TLS connection every round.
    const noise = lab.spawn(
      lab.ns.server,
      [
        process.execPath,
        '-e',
        `const s = require('node:dgram').createSocket('udp4'); let p = 20000;
         setInterval(() => { for (let i = 0; i < 100; i++) { s.send('x', p, '${lab.addr.side}'); p = p >= 60000 ? 20000 : p + 1; } }, 100);`,
      ],
      { stdio: 'ignore' },
    );
    let loading = true;
    let hijacks = 0;
    const load = (async () => {
      while (loading) {
        const tls = await lab.tlsThroughForward({ timeoutMs: 3000 });
        if (!tls.ok) hijacks += 1;
        await sleep(300);
      }
    })();

    const flapStart = Date.now();
    for (let i = 0; i < FLAPS; i++) {
      if (i % 2 === 0) await broker.kill();
      else await broker.stop();
      await sleep(150 + Math.floor(Math.random() * 500));
      await broker.restart();
      await sleep(300 + Math.floor(Math.random() * 900));
    }
    const flapMs = Date.now() - flapStart;
    await sleep(1000);
    loading = false;
    await load;
    noise.kill('SIGKILL');
    const events = daemon.status()!.sensors.conntrack.events - before.sensors.conntrack.events;
    const hijacksDuring = hijacks;

    // Reconnected; every reconnect is in the log.
    const s1 = await daemon.waitFor('mqtt connected again', (s) => s.outputs.mqtt.state === 'connected', 40_000);
    const connects = (daemon.log().match(/mqtt: connected to/g) ?? []).length;
    // Detection went on throughout: every hijacked connection was counted.
    const counted = s1.counters.hijackedReplies - before.counters.hijackedReplies;
    assert.ok(hijacksDuring >= FLAPS / 2, `${hijacksDuring} hijacks made during the flapping`);
    assert.ok(counted >= hijacksDuring, `${counted} hijacked replies counted for ${hijacksDuring} hijacks`);
    // The first connect and at least one reconnect (flaps shorter than the retry backoff may pass unseen).
    assert.ok(connects >= 2, `${connects} connects`);
    assert.ok(events >= 5000, `${events} conntrack events while flapping`);

    // Right retained state, both ways: ON after a fresh hijack, OFF once the hold is over.
    await lab.tlsThroughForward();
    const on = await daemon.waitFor('problem', (s) => s.health === 'problem', 5000);
    assert.equal(on.health, 'problem');
    const retained = async () => {
      const c = await startClient(broker.url, [`replyguard/${NODE}/problem`, `replyguard/${NODE}/state`], (argv) =>
        lab.spawn(lab.ns.side, argv),
      );
      await sleep(600);
      await c.stop();
      return c.messages.filter((m) => m.retain);
    };
    await sleep(500);
    let r = await retained();
    assert.equal(r.find((m) => m.topic.endsWith('/problem'))?.payload, 'ON', JSON.stringify(r));
    const off = await daemon.waitFor('the hold to end', (s) => s.health !== 'problem', (HOLD_S + 4) * 1000);
    await sleep(500);
    r = await retained();
    assert.equal(r.find((m) => m.topic.endsWith('/problem'))?.payload, 'OFF', JSON.stringify(r));
    const state = JSON.parse(r.find((m) => m.topic.endsWith('/state'))!.payload) as {
      health: string;
      hijacked_replies: number;
    };
    assert.equal(state.health, daemon.status()!.health);
    assert.equal(state.hijacked_replies, off.counters.hijackedReplies);
    // The live subscriber (it reconnects by itself) saw the last word too.
    await client.waitFor('OFF last', () => client.last(`replyguard/${NODE}/problem`)?.payload === 'OFF', 5000);

    // Memory: nothing piles up while the broker is away.
    const rssAfter = rssKb(pid);
    // The log: a few lines per flap (lost, refused once, connected), never one per retry or per event.
    const lines = daemon.log().split('\n').slice(logLinesBefore);
    const mqttLines = lines.filter((l) => /mqtt/.test(l)).length;
    console.log(
      `flapping: ${FLAPS} broker kills/restarts in ${flapMs} ms; ${events} conntrack events and ${hijacksDuring} hijacks ` +
        `meanwhile, ${counted} hijacked replies counted; ${connects} connects; RSS ${(rssBefore / 1024).toFixed(1)} → ` +
        `${(rssAfter / 1024).toFixed(1)} MB; ${lines.length} log lines (${mqttLines} about mqtt)`,
    );
    assert.ok(rssAfter - rssBefore <= 15 * 1024, `RSS grew ${((rssAfter - rssBefore) / 1024).toFixed(1)} MB`);
    assert.ok(mqttLines <= FLAPS * 4 + 6, `${mqttLines} mqtt log lines:\n${lines.join('\n')}`);
    assert.equal(daemon.child.exitCode, null);
    assert.equal(daemon.status()!.sensors.conntrack.state, 'running');
  });
});
