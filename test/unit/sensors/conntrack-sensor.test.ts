// The sensor's process handling, with a stand-in `conntrack` script that
// prints what the real one prints (the real one runs in the lab tests).

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { CtEntry } from '../../../src/conntrack/conntrack-entry';
import type { LineInterest } from '../../../src/conntrack/line-prefilter';
import { ConntrackSensor } from '../../../src/sensors/conntrack-sensor';
import { createLogger } from '../../../src/system/log';

const dir = mkdtempSync(join(tmpdir(), 'rg-sensor-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HIJACK =
  '[1795565639.100000]\t    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=11';
const SNAP =
  'ipv4     2 tcp      6 299 ESTABLISHED src=192.168.50.10 dst=203.0.113.51 sport=443 dport=35661 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 mark=0 use=1 id=12';

function standIn(name: string, eventScript: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!/bin/bash
if [ "$1" = "-L" ]; then echo '${SNAP}'; echo 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.' >&2; exit 0; fi
${eventScript}
`,
  );
  chmodSync(path, 0o755);
  return path;
}

function run(command: string, interest?: LineInterest) {
  const entries: CtEntry[] = [];
  const logs: string[] = [];
  const sensor = new ConntrackSensor({
    command,
    ...(interest ? { interest } : {}),
    bufferBytes: 65536,
    log: createLogger('debug', (l) => logs.push(l)),
    onEntry: (e) => entries.push(e),
    onStatus: () => {},
  });
  return { sensor, entries, logs };
}

async function until(what: string, pred: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ConntrackSensor', () => {
  it('passes events on, counts ENOBUFS as loss and resyncs with a snapshot', async () => {
    const cmd = standIn(
      'ct-loss',
      `echo '${HIJACK}'; sleep 0.2; echo 'WARNING: We have hit ENOBUFS! We are losing events.' >&2; echo 'WARNING: We have hit ENOBUFS! We are losing events.' >&2; exec sleep 30`,
    );
    const { sensor, entries, logs } = run(cmd);
    sensor.start();
    try {
      await until('two losses and a second snapshot', () => sensor.status().lost === 2 && sensor.status().resyncs >= 2);
      assert.equal(sensor.status().state, 'running');
      assert.ok(sensor.status().last_loss);
      assert.ok(entries.some((e) => e.event === 'NEW' && e.orig.dport === 35660));
      assert.ok(entries.filter((e) => e.event === 'SNAPSHOT').length >= 2);
      assert.ok(logs.some((l) => l.includes('ENOBUFS')));
      // Two warnings close together lead to one resync, not two.
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(sensor.status().resyncs, 2);
    } finally {
      sensor.stop();
    }
  });

  it('restarts a child that exits, with backoff, and counts it', async () => {
    const starts = join(dir, 'ct-exit-starts');
    const cmd = standIn(
      'ct-exit',
      `if [ "$3" = "NEW" ]; then date +%s%3N >> '${starts}'; fi
echo '${HIJACK}'; echo 'conntrack v1.4.7 (conntrack-tools): Operation not permitted' >&2; exit 1`,
    );
    const { sensor, entries } = run(cmd);
    const started = () => {
      try {
        return readFileSync(starts, 'utf8').trim().split('\n').map(Number);
      } catch {
        return [];
      }
    };
    sensor.start();
    try {
      await until('three restarts', () => sensor.status().restarts >= 3 && started().length >= 4, 8000);
      assert.ok(entries.filter((e) => e.event === 'NEW').length >= 3);
      assert.match(sensor.status().last_error ?? '', /code 1|Operation not permitted/);
    } finally {
      sensor.stop();
    }
    assert.equal(sensor.status().state, 'stopped');
    // The NEW stream's starts: at least 500, 1000, 2000 ms apart (the backoff doubles). A gap is the backoff
    // plus the stand-in's own start and exit, which a busy machine stretches, so only the lower bounds are sure.
    const at = started();
    const gaps = at.slice(1, 4).map((t, i) => t - at[i]!);
    for (const [i, backoff] of [500, 1000, 2000].entries())
      assert.ok(gaps[i]! >= backoff - 50, `restart ${i + 1} waits ${backoff} ms: gaps ${gaps.join(', ')} ms`);
  });

  it('reports a missing conntrack binary as failed and keeps trying', async () => {
    const { sensor } = run(join(dir, 'no-such-conntrack'));
    sensor.start();
    try {
      await until('failed state', () => sensor.status().state === 'failed');
      assert.match(sensor.status().last_error ?? '', /cannot run .*ENOENT/);
      await until('a retry', () => sensor.status().restarts >= 1);
    } finally {
      sensor.stop();
    }
  });

  it('runs NEW and DESTROY as two children: a DESTROY loss brings no resync and leaves the NEW stream whole', async () => {
    const argsLog = join(dir, 'ct-split-args');
    const destroy =
      '[1795565639.300000]\t[DESTROY] ipv4     2 tcp      6 src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=11';
    const cmd = standIn(
      'ct-split',
      `echo "$*" >> '${argsLog}'
if [ "$3" = "DESTROY" ]; then sleep 0.3; echo '${destroy}'; for i in 1 2 3; do echo 'WARNING: We have hit ENOBUFS! We are losing events.' >&2; done; exec sleep 30; fi
echo '${HIJACK}'; exec sleep 30`,
    );
    const { sensor, entries, logs } = run(cmd);
    sensor.start();
    try {
      await until('the DESTROY losses', () => sensor.status().destroy?.lost === 3);
      await new Promise((r) => setTimeout(r, 400));
      const st = sensor.status();
      assert.equal(st.lost, 0, 'no NEW event was lost');
      assert.equal(st.resyncs, 1, 'only the start-up snapshot: a DESTROY loss needs no resync');
      assert.equal(st.destroy?.state, 'running');
      assert.equal(st.destroy?.events, 1);
      assert.equal(st.events, 1);
      assert.deepEqual(
        entries.filter((e) => e.event !== 'SNAPSHOT').map((e) => e.event),
        ['NEW', 'DESTROY'],
      );
      assert.ok(logs.some((l) => /dropped conntrack DESTROY events/.test(l)));
      assert.ok(!logs.some((l) => /dropped conntrack NEW events/.test(l)));
      const args = readFileSync(argsLog, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('-E'))
        .sort();
      assert.deepEqual(
        args.map((a) => a.split(' ').slice(0, 3).join(' ')),
        ['-E -e DESTROY', '-E -e NEW'],
      );
      assert.equal(sensor.childPids().length, 2);
    } finally {
      sensor.stop();
    }
  });

  it('follows a NEW with its DESTROY that came first through the other pipe (the pre-filter had dropped it)', async () => {
    const destroy =
      '[1795565639.100077]\t[DESTROY] ipv4     2 tcp      6 src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=11';
    const cmd = standIn(
      'ct-early-destroy',
      `if [ "$3" = "DESTROY" ]; then echo '${destroy}'; exec sleep 30; fi
sleep 0.3; echo '${HIJACK}'; exec sleep 30`,
    );
    // Nothing tracked yet: the DESTROY line is dropped before parsing, as in the daemon.
    const { sensor, entries } = run(cmd, { trackedServers: new Map(), udpPorts: new Set() });
    sensor.start();
    try {
      await until('the NEW and its DESTROY', () => entries.filter((e) => e.event !== 'SNAPSHOT').length >= 2);
      const [n, d] = entries.filter((e) => e.event !== 'SNAPSHOT');
      assert.equal(n?.event, 'NEW');
      assert.equal(d?.event, 'DESTROY');
      assert.equal(d?.id, 11);
      assert.ok(Math.abs((d?.timestamp ?? 0) - 1795565639.100077) < 1e-6, String(d?.timestamp));
      assert.deepEqual(d?.orig, n?.orig);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(entries.filter((e) => e.event === 'DESTROY').length, 1, 'followed once');
    } finally {
      sensor.stop();
    }
  });

  it('kills its child on stop', async () => {
    const cmd = standIn('ct-idle', 'exec sleep 30');
    const { sensor } = run(cmd);
    sensor.start();
    await until('running', () => sensor.status().state === 'running');
    const [pid] = sensor.childPids();
    assert.ok(pid);
    sensor.stop();
    await until('child gone', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });
});
