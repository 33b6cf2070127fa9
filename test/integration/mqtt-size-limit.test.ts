// MQTT messages larger than the daemon takes (MAX_INCOMING_BYTES) against a real
// mosquitto on the host's loopback: two 50 MB messages (test/fixtures/attacks/mqtt-oversize.json)
// on topics the daemon subscribes to are dropped unread with one log line, the
// daemon's resident memory does not grow by their size, and commands still work.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connect } from 'mqtt';
import { BUNDLE, followDaemon } from '../helpers/daemon';
import { freePort, startBroker } from '../helpers/mosquitto';

const FIXTURE = join(__dirname, '..', 'fixtures', 'attacks', 'mqtt-oversize.json');
const NODE = 'big1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process, MB. */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

describe('MQTT: incoming size limit (real mosquitto)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-mqtt-big-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('drops two 50 MB messages unread, logs it, keeps its memory, and still takes commands', {
    timeout: 90_000,
  }, async () => {
    const attack = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
      messages: { topic: string; payload_bytes: number; fill: string; qos: 0 | 1 }[];
    };
    const port = await freePort();
    const broker = await startBroker({ port });
    const configPath = join(dir, 'replyguard.ini');
    writeFileSync(
      configPath,
      `[main]\nlan_interfaces = lo\nlan_subnets = 192.168.50.0/24\nprobe = off\nlog_level = info\n` +
        `[mqtt]\nenabled = 1\nurl = ${broker.url}\nnode_id = ${NODE}\n` +
        '[forward.nas]\nhost = 192.168.50.10\nport = 443\n',
    );
    const stateDir = join(dir, 'state');
    const child = spawn(process.execPath, [BUNDLE, 'run', '--config', configPath, '--state-dir', stateDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
    });
    const daemon = followDaemon(child, stateDir);
    const pub = connect(broker.url, { clientId: 'rg-attacker', reconnectPeriod: 0 });
    try {
      await daemon.waitFor('mqtt connected', (s) => s.outputs.mqtt?.state === 'connected', 10_000);
      if (!pub.connected) await new Promise<void>((r) => pub.once('connect', () => r()));
      await sleep(1500);
      const before = rssMb(child.pid!);
      for (const m of attack.messages) {
        const payload = Buffer.alloc(m.payload_bytes, m.fill);
        await pub.publishAsync(m.topic.replace('{node}', NODE), payload, { qos: m.qos });
      }
      await daemon.waitLog(
        /mqtt: dropped a \d+-byte message on "replyguard\/big1\/guard\/set" .* unread: larger than \d+ bytes/,
        30_000,
      );
      await sleep(2000);
      const afterMb = rssMb(child.pid!);
      process.stdout.write(`# daemon RSS: ${before.toFixed(1)} MB before, ${afterMb.toFixed(1)} MB after 2 × 50 MB\n`);
      assert.ok(afterMb - before < 10, `RSS grew from ${before.toFixed(1)} to ${afterMb.toFixed(1)} MB`);
      assert.equal(
        daemon
          .log()
          .split('\n')
          .filter((l) => l.includes('mqtt: dropped a')).length,
        1,
        'one log line for the burst',
      );
      // Still connected and still listening: a real command is taken.
      await pub.publishAsync(`replyguard/${NODE}/guard/set`, 'ON', { qos: 1 });
      await daemon.waitLog(/guard: off → auto \(switched from Home Assistant\)/, 10_000);
      assert.equal(daemon.status()?.outputs.mqtt?.state, 'connected');
    } finally {
      await pub.endAsync(true);
      await daemon.stop();
      await broker.destroy();
    }
  });
});
