// A transparent proxy in eBPF (dae, daed) takes the LAN's packets at tc ingress, before netfilter:
// conntrack, the ruleset and the probe never see what it takes. replyguard must say so instead of
// reporting all is well. The proxy is a stand-in (test/helpers/bpf-standin.py, see
// test/golden/ebpf/SOURCE.md): a program that passes every packet, with dae's program name, attached
// where and as dae attaches its own; the real kernel and tc see it as they would see dae's.
//
// 1. The daemon in the lab's side router, where tc is installed: the stand-in on br-lan's ingress
//    makes health degraded, named in status, the CLI and the log; removed, health is ok again.
// 2. Where a router has no tc (OpenWrt images ship none): the sensor reads /proc, and a process named
//    dae holding a tc program is a blind spot; another process's program is only listed.
// 3. With tc, `tc monitor` makes the sensor read again when a program is attached or removed, with no
//    poll between; a tc whose monitor fails leaves the sensor polling.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { EbpfSensor } from '../../src/sensors/ebpf-sensor';
import { createLogger } from '../../src/system/log';
import { BUNDLE, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { createLab, type Lab } from '../lab/lab';

const run = promisify(execFile);
const STANDIN = join(__dirname, '..', 'helpers', 'bpf-standin.py');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Attaches the stand-in to DEV's ingress in netns NS as dae does, from a private mount namespace with its own bpffs. */
async function attachDaeStandIn(ns: string, dev: string): Promise<void> {
  const pin = '/sys/fs/bpf/dae_lan_ingress_l2';
  const inNs = `nsenter --net=/run/netns/${ns}`;
  const script = [
    'set -e',
    'mount -t bpf bpf /sys/fs/bpf',
    `python3 ${STANDIN} dae tproxy_lan_ingress_l2 ${pin} --exit`,
    `${inNs} tc qdisc add dev ${dev} clsact`,
    `${inNs} tc filter add dev ${dev} ingress prio 2 handle 0x20230004 bpf da object-pinned ${pin}`,
  ].join('\n');
  await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script]);
}

describe('eBPF before netfilter: the daemon says it cannot watch there (tc present)', () => {
  let lab: Lab;
  let d: RunningDaemon;
  before(async () => {
    lab = await createLab({ mode: 'none', tag: 'ebpf' });
    d = await startDaemon(lab);
  });
  after(async () => {
    await d?.stop();
    await lab?.destroy();
  });

  it('the stand-in on br-lan: health degraded, the hook named (dae, br-lan) in status, CLI and log; gone: ok again', async () => {
    let s = await d.waitFor('the first eBPF reading', (st) => st.sensors.ebpf?.state === 'running');
    assert.equal(s.sensors.ebpf.way, 'tc');
    s = await d.waitFor('tc monitor', (st) => st.sensors.ebpf.watch === 'tc monitor');
    assert.deepEqual(s.sensors.ebpf.hooks, []);
    assert.equal(s.health, 'ok');
    assert.equal((await lab.tlsThroughForward()).ok, true, 'the forward works without a proxy');

    await attachDaeStandIn(lab.ns.side, 'br-lan');
    // A re-check reads again at once (else within 30 s).
    d.child.kill('SIGUSR1');
    s = await d.waitFor('the blind spot', (st) => st.sensors.ebpf.hooks.length > 0);
    assert.deepEqual(s.sensors.ebpf.hooks, [
      { interface: 'br-lan', program: 'dae_lan_ingress_l2:[*fsobj]', blind: true, proxy: 'dae' },
    ]);
    assert.equal(s.health, 'degraded');
    assert.match(s.headline, /^Not watching everything: eBPF before netfilter: dae's .* on br-lan ingress\./);
    await d.waitLog(/warn: eBPF before netfilter: dae's/);
    const cli = await lab.exec(lab.ns.side, [process.execPath, BUNDLE, 'status', '--state-dir', d.stateDir]);
    assert.match(cli.stdout, /ebpf BLIND SPOT: eBPF before netfilter: dae's/);

    assert.equal((await lab.exec(lab.ns.side, ['tc', 'qdisc', 'del', 'dev', 'br-lan', 'clsact'])).code, 0);
    d.child.kill('SIGUSR1');
    s = await d.waitFor('the blind spot gone', (st) => st.sensors.ebpf.hooks.length === 0);
    assert.equal(s.health, 'ok');
    await d.waitLog(/eBPF: no program before netfilter on the LAN any more/);
  });
});

describe('eBPF before netfilter without tc: programs held by processes (/proc)', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  /** A stand-in loader holding its program until killed; resolves with its pid once loaded. */
  function holdProgram(processName: string): Promise<ChildProcess> {
    const child = spawn('python3', [STANDIN, processName, 'tproxy_lan_ingress_l2'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      child.stdout!.once('data', () => resolve(child));
      child.once('exit', (code) => reject(new Error(`stand-in exited (${code})`)));
    });
  }

  it("a process named dae holding a tc program is a blind spot; qosify's is only listed; dae gone, gone", async () => {
    const dae = await holdProgram('dae');
    const qosify = await holdProgram('qosify');
    let changes = 0;
    const sensor = new EbpfSensor({
      tcCommand: null,
      intervalMs: 60_000,
      log: createLogger('error'),
      interfaces: () => [],
      onStatus: () => changes++,
    });
    await sensor.start();
    try {
      assert.equal(sensor.status().way, 'proc');
      assert.equal(sensor.status().state, 'running');
      const mine = (pid?: number) => sensor.status().hooks.find((h) => h.process?.pid === pid);
      assert.deepEqual(mine(dae.pid), {
        program: mine(dae.pid)?.program,
        process: { name: 'dae', pid: dae.pid },
        blind: true,
        proxy: 'dae',
      });
      assert.match(mine(dae.pid)!.program, /^1 tc program \(id \d+\)$/);
      assert.equal(mine(qosify.pid)?.blind, false);
      assert.equal(mine(qosify.pid)?.process?.name, 'qosify');

      const seen = changes;
      dae.kill('SIGKILL');
      await new Promise((r) => dae.once('exit', r));
      sensor.pollSoon();
      for (let i = 0; i < 50 && mine(dae.pid); i++) await sleep(100);
      assert.equal(mine(dae.pid), undefined);
      assert.ok(changes > seen, 'the change is reported');
    } finally {
      sensor.stop();
    }
  });
});

describe('eBPF before netfilter: tc monitor says when to read again', () => {
  let lab: Lab;
  let dir: string;
  /** A tc that runs in the lab's side router (ip netns exec execs tc: the sensor's pid is tc's). */
  let tcInSide: string;
  before(async () => {
    lab = await createLab({ mode: 'none', tag: 'ebpfmon' });
    dir = mkdtempSync(join(tmpdir(), 'rg-ebpfmon-'));
    tcInSide = join(dir, 'tc');
    writeFileSync(tcInSide, `#!/bin/sh\nexec ip netns exec ${lab.ns.side} tc "$@"\n`);
    chmodSync(tcInSide, 0o755);
  });
  after(async () => {
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The sensor on the side router's br-lan through `tc`, its log lines kept in `logs`. */
  const sideSensor = (tc: string, intervalMs: number, logs: string[]) =>
    new EbpfSensor({
      tcCommand: tc,
      intervalMs,
      log: createLogger('info', (l) => logs.push(l)),
      interfaces: () => ['br-lan'],
      onStatus: () => {},
    });

  it('with an hour between polls, attaching and removing the stand-in are both seen within seconds', async () => {
    const logs: string[] = [];
    const sensor = sideSensor(tcInSide, 3_600_000, logs);
    await sensor.start();
    try {
      for (let i = 0; i < 50 && sensor.status().watch !== 'tc monitor'; i++) await sleep(100);
      assert.equal(sensor.status().watch, 'tc monitor');
      assert.deepEqual(sensor.status().hooks, []);
      await attachDaeStandIn(lab.ns.side, 'br-lan');
      for (let i = 0; i < 100 && sensor.status().hooks.length === 0; i++) await sleep(100);
      assert.deepEqual(sensor.status().hooks, [
        { interface: 'br-lan', program: 'dae_lan_ingress_l2:[*fsobj]', blind: true, proxy: 'dae' },
      ]);
      assert.equal((await lab.exec(lab.ns.side, ['tc', 'qdisc', 'del', 'dev', 'br-lan', 'clsact'])).code, 0);
      for (let i = 0; i < 100 && sensor.status().hooks.length > 0; i++) await sleep(100);
      assert.deepEqual(sensor.status().hooks, []);
      assert.deepEqual(
        logs.filter((l) => /tc monitor/.test(l)),
        [],
      );
    } finally {
      await sensor.stop();
    }
  });

  it('a tc whose monitor fails: said in the log, watch is poll, and the polls still see the stand-in', async () => {
    const noMonitor = join(dir, 'tc-no-monitor');
    writeFileSync(
      noMonitor,
      `#!/bin/sh\nif [ "$1" = monitor ]; then echo 'Command "monitor" is unknown, try "tc help".' >&2; exit 1; fi\nexec ${tcInSide} "$@"\n`,
    );
    chmodSync(noMonitor, 0o755);
    const logs: string[] = [];
    const sensor = sideSensor(noMonitor, 300, logs);
    await sensor.start();
    try {
      for (let i = 0; i < 50 && !logs.some((l) => /tc monitor/.test(l)); i++) await sleep(100);
      assert.match(
        logs.join(''),
        /warn: eBPF: tc monitor Command "monitor" is unknown, try "tc help"\.; reading every 0\.3 s meanwhile/,
      );
      assert.equal(sensor.status().watch, 'poll');
      await attachDaeStandIn(lab.ns.side, 'br-lan');
      for (let i = 0; i < 50 && sensor.status().hooks.length === 0; i++) await sleep(100);
      assert.equal(sensor.status().hooks[0]?.proxy, 'dae');
      assert.equal(sensor.status().state, 'running');
    } finally {
      await sensor.stop();
      await lab.exec(lab.ns.side, ['tc', 'qdisc', 'del', 'dev', 'br-lan', 'clsact']);
    }
  });
});
