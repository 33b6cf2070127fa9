// The daemon under faults, outside any lab: a stand-in `conntrack` first on
// PATH (replaying real incident lines) lets each test break one thing.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BUNDLE, type DaemonFollower, followDaemon } from '../helpers/daemon';
import { isAlive } from '../helpers/proc';

const root = mkdtempSync(join(tmpdir(), 'rg-faults-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

// No timestamp: the daemon stamps it on arrival, so the finding is fresh whenever the test runs.
const HIJACK =
  '    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=53686 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=2817674855';

type Run = DaemonFollower & { dir: string; config: string };

/** Starts the bundle with `conntrack` replaced by `script` (a shell script body; $1 is -E or -L). */
function start(name: string, script: string | null, configText = '[main]\nlan_subnets = 192.168.50.0/24\n'): Run {
  const dir = join(root, name);
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  if (script !== null) {
    writeFileSync(join(bin, 'conntrack'), `#!/bin/bash\n${script}\n`);
    chmodSync(join(bin, 'conntrack'), 0o755);
  }
  const config = join(dir, 'rg.ini');
  writeFileSync(config, configText);
  const state = join(dir, 'state');
  // Without the stand-in, PATH holds no conntrack at all (the "binary missing" case).
  const path =
    script !== null ? `${bin}:/usr/bin:/bin` : `${bin}:/usr/bin:/bin`.replace('/usr/bin:/bin', '/nonexistent');
  const child = spawn(process.execPath, [BUNDLE, 'run', '--config', config, '--state-dir', state], {
    env: { PATH: script !== null ? `${bin}:/usr/bin:/bin:/usr/sbin:/sbin` : path, HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return { ...followDaemon(child, state), dir, config };
}

describe('daemon faults', () => {
  it('conntrack killed repeatedly: restarted each time, status counts it, no child left after stop', async () => {
    const run = start('kill', `if [ "$1" = "-E" ]; then echo '${HIJACK}'; exec sleep 600; fi; exit 0`);
    let s = await run.waitFor('running', (st) => st.sensors.conntrack.state === 'running' && st.findings.length > 0);
    const pids: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const pid = s.sensors.conntrack.pid!;
      pids.push(pid);
      process.kill(pid, 'SIGKILL');
      s = await run.waitFor(
        `restart ${i}`,
        (st) => st.sensors.conntrack.restarts === i && st.sensors.conntrack.state === 'running',
      );
    }
    assert.equal(s.health, 'problem', 'the hijack is still reported');
    const last = s.sensors.conntrack.pid!;
    assert.equal(await run.stop(), 0);
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of [...pids, last]) assert.equal(isAlive(pid), false, `conntrack child ${pid} outlived the daemon`);
    const final = run.status()!;
    assert.equal(final.sensors.conntrack.state, 'stopped');
    assert.equal(final.health, 'problem', 'a recent hijack stays visible after stop');
  });

  it('conntrack missing: the daemon runs, says so, and is degraded', async () => {
    const run = start('missing', null);
    const s = await run.waitFor('failed sensor', (st) => st.sensors.conntrack.state === 'failed');
    assert.equal(s.health, 'degraded');
    assert.match(s.sensors.conntrack.last_error ?? '', /cannot run conntrack.*ENOENT/);
    assert.match(s.headline, /Not watching/);
    assert.equal(run.child.exitCode, null);
    assert.equal(await run.stop(), 0);
  });

  it('lost events (ENOBUFS) are counted, resynced and make health degraded', async () => {
    const run = start(
      'enobufs',
      `if [ "$1" = "-E" ]; then sleep 0.3; echo 'WARNING: We have hit ENOBUFS! We are losing events.' >&2; exec sleep 600; fi; echo '${HIJACK.replace('    [NEW] ', '')}'; exit 0`,
    );
    const s = await run.waitFor('a loss', (st) => st.sensors.conntrack.lost === 1 && st.sensors.conntrack.resyncs >= 2);
    // The snapshot taken after the loss shows the hijacked entry that is still in the table.
    assert.equal(s.health, 'problem');
    assert.equal(s.findings[0]?.kind, 'reply_hijacked');
    await run.stop();
  });

  it('SIGUSR1 (LuCI "Re-check now") reads the connection table again', async () => {
    const run = start('usr1', 'if [ "$1" = "-E" ]; then exec sleep 600; fi; exit 0');
    const s0 = await run.waitFor('the first snapshot', (st) => st.sensors.conntrack.resyncs === 1);
    run.child.kill('SIGUSR1');
    const s1 = await run.waitFor('a second snapshot', (st) => st.sensors.conntrack.resyncs === 2);
    assert.equal(s1.sensors.conntrack.pid, s0.sensors.conntrack.pid, 'the event stream keeps running');
    await run.waitLog(/re-check requested/);
    assert.equal(await run.stop(), 0);
  });

  it('SIGHUP with a broken config keeps the running one and says why', async () => {
    const run = start(
      'hup',
      'if [ "$1" = "-E" ]; then exec sleep 600; fi; exit 0',
      '[main]\nlan_subnets = 192.168.50.0/24\n[forward.nas]\nhost = 192.168.50.10\nport = 443\n',
    );
    await run.waitFor('running', (st) => st.sensors.conntrack.state === 'running');
    writeFileSync(
      run.config,
      '[main]\nlan_subnets = 192.168.50.0/24\n[forward.nas]\nhost = 192.168.50.10\nport = 99999\n',
    );
    run.child.kill('SIGHUP');
    await run.waitLog(/reload: keeping the running config.*port.*99999/);
    assert.equal(run.child.exitCode, null);
    assert.deepEqual(
      run.status()!.forwards.map((f) => f.port),
      [443],
    );
    // A good config is applied.
    writeFileSync(
      run.config,
      '[main]\nlan_subnets = 192.168.50.0/24\n[forward.nas]\nhost = 192.168.50.10\nport = 8443\n',
    );
    run.child.kill('SIGHUP');
    await run.waitFor('the new forward', (st) => st.forwards[0]?.port === 8443);
    await run.stop();
  });

  it('an unwritable state dir: keeps running, logs once, recovers when it is writable again', async () => {
    const run = start('ro', 'if [ "$1" = "-E" ]; then exec sleep 600; fi; exit 0');
    await run.waitFor('running', (st) => st.sensors.conntrack.state === 'running');
    const before = run.status()!;
    // A directory where status.json.<pid>.tmp must go makes every write fail, as a read-only or full disk does.
    const blocker = join(run.stateDir, `status.json.${run.child.pid}.tmp`);
    mkdirSync(blocker);
    run.child.kill('SIGHUP'); // any change makes the daemon write
    await run.waitLog(/status: cannot write/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((run.log().match(/status: cannot write/g) ?? []).length, 1, 'logged once, not per attempt');
    assert.deepEqual(run.status(), before, 'the old status.json stays whole');
    rmSync(blocker, { recursive: true });
    run.child.kill('SIGHUP');
    await run.waitLog(/status: writing works again/);
    assert.equal(run.child.exitCode, null);
    await run.stop();
  });
});
