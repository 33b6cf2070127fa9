// SIGKILL of the daemon (what procd does 10 s after a SIGTERM that hangs):
// its children (conntrack -E twice, nft monitor) outlive it, and the next start
// must end them (pids with start times in the state directory), and nothing
// else. The daemon runs the built bundle on the host with lan_interfaces = lo
// and probe = off (it only reads the host's conntrack and ruleset).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BUNDLE, type DaemonFollower, followDaemon } from '../helpers/daemon';
import { isAlive, parentMap } from '../helpers/proc';

const FIXTURE = join(__dirname, '..', 'fixtures', 'attacks', 'sigkill-restart.json');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function childrenOf(pid: number): number[] {
  return [...parentMap()].filter(([, parent]) => parent === pid).map(([p]) => p);
}

describe('SIGKILL: the next start ends what the killed run left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-sigkill-'));
  const configPath = join(dir, 'replyguard.ini');
  const stateDir = join(dir, 'state');
  const started: number[] = [];
  after(() => {
    // Whatever the outcome, nothing this test started stays.
    const all = [...started, ...started.flatMap(childrenOf)];
    for (const pid of all) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<DaemonFollower> => {
    const child = spawn(process.execPath, [BUNDLE, 'run', '--config', configPath, '--state-dir', stateDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
    });
    started.push(child.pid!);
    const d = followDaemon(child, stateDir);
    await d.waitFor('conntrack running', (s) => s.sensors.conntrack.state === 'running', 10_000);
    // Both conntrack children and nft monitor, noted in the state directory.
    for (let i = 0; i < 100 && childrenOf(child.pid!).length < 3; i++) await sleep(50);
    // The daemon notes a new child within a second.
    await sleep(1300);
    return d;
  };

  it('after each SIGKILL, the next start ends the conntrack and nft monitor children it left', {
    timeout: 90_000,
  }, async () => {
    const { rounds, signal } = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { rounds: number; signal: NodeJS.Signals };
    writeFileSync(
      configPath,
      '[main]\nlan_interfaces = lo\nlan_subnets = 192.168.50.0/24\nprobe = off\nstatus_interval = 1\n',
    );
    let daemon = await start();
    for (let round = 0; round < rounds; round++) {
      const pid = daemon.child.pid!;
      const kids = childrenOf(pid);
      started.push(...kids);
      assert.ok(kids.length >= 2, `round ${round}: children ${kids.join(' ')}\n${daemon.log()}`);
      daemon.child.kill(signal);
      await new Promise((r) => daemon.child.once('exit', r));
      await sleep(200);
      assert.ok(kids.some(isAlive), `round ${round}: the killed daemon's children live on (as procd would see it)`);
      daemon = await start();
      for (let i = 0; i < 40 && kids.some(isAlive); i++) await sleep(50);
      assert.deepEqual(kids.filter(isAlive), [], `round ${round}: left running after the next start\n${daemon.log()}`);
      assert.match(daemon.log(), /ended \d process\(es\) an earlier run left behind: /);
    }
    const last = childrenOf(daemon.child.pid!);
    started.push(...last);
    assert.equal(await daemon.stop(), 0);
    await sleep(300);
    assert.deepEqual(last.filter(isAlive), [], 'a clean stop leaves nothing either');
  });
});
