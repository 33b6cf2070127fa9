// More faults: the firewall tools failing or hanging, a full disk
// under the state dir, and SIGTERM while status.json is being rewritten fast.
//
// Tools are replaced only in the daemon's own mount namespace: it runs as
// `unshare -m --propagation private sh -c 'mount --bind FAKE /usr/sbin/nft && exec node …'`
// (the daemon looks for nft and iptables-legacy-save in /usr/sbin), so the host
// and the other tests keep the real binaries. The fakes read their behaviour
// (pass, fail, hang) from a file the test rewrites. The full disk is a 256 KB
// tmpfs mounted over the state dir the same way; the test reaches it through
// /proc/<pid>/root.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUNDLE, type DaemonFollower, followDaemon, hijacksOf, labConfig, startDaemon } from '../helpers/daemon';
import { isAlive, parentMap } from '../helpers/proc';
import { createLab, type Lab } from '../lab/lab';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const root = mkdtempSync(join(tmpdir(), 'rg-faults-more-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Every live process below `pid` (walks /proc by ppid). */
function descendants(pid: number): Array<{ pid: number; cmd: string }> {
  const parent = parentMap();
  const out: Array<{ pid: number; cmd: string }> = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp !== p) continue;
      let cmd = '?';
      try {
        cmd = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        continue;
      }
      out.push({ pid: child, cmd });
      walk(child);
    }
  };
  walk(pid);
  return out;
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return Promise.race([new Promise<void>((r) => child.once('exit', () => r())), sleep(ms)]);
}

/** A shell script that behaves as `<dir>/<name>.mode` says: pass (run the real one), fail, hang. */
function fakeTool(dir: string, name: string, real: string): string {
  const path = join(dir, `${name}.fake`);
  writeFileSync(join(dir, `${name}.mode`), 'pass\n');
  writeFileSync(
    path,
    `#!/bin/bash
case "$(cat '${dir}/${name}.mode')" in
  hang) exec sleep 600 ;;
  fail) echo "Error: ${name} failed (fault injected by the test)" >&2; exit 1 ;;
esac
exec -a "$0" '${real}' "$@"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe('daemon faults, more', { concurrency: true }, () => {
  describe('nft failing, then hanging, then back', () => {
    let lab: Lab;
    let daemon: DaemonFollower | undefined;
    const dir = join(root, 'nft');
    const mode = (m: string) => writeFileSync(join(dir, 'nft.mode'), `${m}\n`);

    before(async () => {
      lab = await createLab({ mode: 'iptables-redirect', tag: 'fnft' });
      mkdirSync(join(dir, 'state'), { recursive: true });
      copyFileSync('/usr/sbin/nft', join(dir, 'nft.real'));
      chmodSync(join(dir, 'nft.real'), 0o755);
      const fake = fakeTool(dir, 'nft', join(dir, 'nft.real'));
      const config = join(dir, 'rg.ini');
      writeFileSync(config, labConfig(lab, { main: { probe: 'on', probe_interval: 1, status_interval: 1 } }));
      const script = `mount --bind '${fake}' /usr/sbin/nft && exec '${process.execPath}' '${BUNDLE}' run --config '${config}' --state-dir '${dir}/state'`;
      const child = lab.spawn(lab.ns.side, ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script]);
      daemon = followDaemon(child, join(dir, 'state'));
      await daemon.waitFor('the probe (nft) to run', (s) => s.sensors.probe.state === 'running', 15_000);
    });
    after(async () => {
      await daemon?.stop();
      await lab?.destroy();
    });

    it('failing: the probe says why and retries, conntrack keeps detecting; hanging: killed after its time limit; back: the probe recovers', {
      timeout: 80_000,
    }, async () => {
      const d = daemon!;
      const pid = d.child.pid!;
      assert.equal(d.status()!.sensors.probe.backend, 'nft');
      // The host's nft is untouched: only the daemon's mount namespace sees the fake.
      const hostNft = await lab.exec(lab.ns.side, ['nft', 'list', 'table', 'inet', 'replyguard']);
      assert.equal(hostNft.code, 0, hostNft.stderr);

      mode('fail');
      // A firewall reload takes the probe's table away; putting it back needs a new nft, which now fails.
      assert.equal((await lab.exec(lab.ns.side, ['nft', 'delete', 'table', 'inet', 'replyguard'])).code, 0);
      let s = await d.waitFor(
        'the probe to fail',
        (st) => st.sensors.probe.state === 'failed' && /fault injected/.test(st.sensors.probe.last_error ?? ''),
        10_000,
      );
      assert.equal(s.health, 'degraded', 'probe = on and failed: degraded');
      assert.match(s.headline, /probe failed/);
      // Detection by conntrack does not need nft.
      assert.equal((await lab.tlsThroughForward()).ok, false);
      s = await d.waitFor('the hijack', (st) => hijacksOf(st, '192.168.50.10:443').length > 0, 5000);
      assert.equal(s.health, 'problem');

      // The ruleset read with nft failing: it goes on with what the other tools show.
      const reads = s.ruleset?.reads ?? 0;
      d.child.kill('SIGUSR1');
      s = await d.waitFor('a ruleset re-read', (st) => (st.ruleset?.reads ?? 0) > reads, 10_000);
      console.log(
        `with nft failing: ruleset state ${s.ruleset?.state}, backend ${s.ruleset?.backend}, last_error ${s.ruleset?.last_error ?? '(none)'}; proxy ${s.proxy?.label ?? 'none'}`,
      );
      assert.equal(d.child.exitCode, null);
      // status tells the truth: the read was incomplete, and why.
      assert.match(s.ruleset?.last_error ?? '', /^nft -j: /);

      mode('hang');
      // The next nft hangs and is killed after 5 s; the error says so. Which nft that is depends on timing:
      // a reinstall (the table's loss was seen before nft failed) or a reading (it was not).
      s = await d.waitFor(
        'the hang to be reported',
        (st) => /did not (finish|answer) within 5000 ms/.test(st.sensors.probe.last_error ?? ''),
        30_000,
      );
      assert.equal(s.sensors.probe.state, 'failed');
      // Hung fakes never pile up: each is killed when its time is up.
      const hung = descendants(pid).filter((p) => p.cmd === 'sleep 600');
      assert.ok(hung.length <= 2, `hung children: ${JSON.stringify(hung)}`);
      const warnings = d
        .log()
        .split('\n')
        .filter((l) => /probe: cannot install/.test(l)).length;
      assert.ok(warnings <= 3, `logged once per change of error, not per retry (${warnings})`);

      mode('pass');
      s = await d.waitFor('the probe to recover', (st) => st.sensors.probe.state === 'running', 40_000);
      assert.equal(s.sensors.probe.last_error, undefined);
      assert.equal((await lab.exec(lab.ns.side, ['nft', 'list', 'table', 'inet', 'replyguard'])).code, 0);
      assert.equal(d.child.exitCode, null, 'the daemon runs throughout');
      const pidsBefore = descendants(pid).map((p) => p.pid);
      assert.equal(await d.stop(), 0);
      await sleep(300);
      for (const p of pidsBefore) assert.equal(isAlive(p), false, `child ${p} outlived the daemon`);
      assert.notEqual(
        (await lab.exec(lab.ns.side, ['nft', 'list', 'table', 'inet', 'replyguard'])).code,
        0,
        'the probe table is removed at stop',
      );
    });
  });

  describe('iptables-legacy-save hanging', () => {
    let lab: Lab;
    let daemon: DaemonFollower | undefined;
    const dir = join(root, 'save');

    before(async () => {
      lab = await createLab({ mode: 'iptables-redirect', tag: 'fsave' });
      mkdirSync(join(dir, 'state'), { recursive: true });
      // iptables-legacy-save is a link to xtables-legacy-multi: the bind mount lands on that (every legacy tool
      // in the daemon's namespace runs the fake then, which passes the others on under their own name).
      copyFileSync('/usr/sbin/xtables-legacy-multi', join(dir, 'legacy.real'));
      chmodSync(join(dir, 'legacy.real'), 0o755);
      const fake = fakeTool(dir, 'legacy', join(dir, 'legacy.real'));
      writeFileSync(
        join(dir, 'legacy.fake'),
        readFileSync(join(dir, 'legacy.fake'), 'utf8').replace(
          'case "$(cat',
          `[ "$(basename "$0")" = iptables-legacy-save ] || exec -a "$0" '${join(dir, 'legacy.real')}' "$@"\ncase "$(cat`,
        ),
      );
      writeFileSync(join(dir, 'legacy.mode'), 'hang\n');
      const config = join(dir, 'rg.ini');
      writeFileSync(config, labConfig(lab, { main: { status_interval: 1 } }));
      const script = `mount --bind '${fake}' /usr/sbin/iptables-legacy-save && exec '${process.execPath}' '${BUNDLE}' run --config '${config}' --state-dir '${dir}/state'`;
      const child = lab.spawn(lab.ns.side, ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script]);
      daemon = followDaemon(child, join(dir, 'state'));
      await daemon.waitFor('conntrack running', (s) => s.sensors.conntrack.state === 'running', 10_000);
    });
    after(async () => {
      await daemon?.stop();
      await lab?.destroy();
    });

    it('the ruleset is still read (after the time limit), detection never waits, nothing piles up', {
      timeout: 80_000,
    }, async () => {
      const d = daemon!;
      const pid = d.child.pid!;
      const startedAt = Date.now();
      // Detection first: conntrack does not wait for the ruleset.
      assert.equal((await lab.tlsThroughForward()).ok, false);
      await d.waitFor('the hijack', (st) => hijacksOf(st, '192.168.50.10:443').length > 0, 5000);
      let maxHung = 0;
      const s = await d.waitFor(
        'the first ruleset read despite the hang',
        (st) => {
          maxHung = Math.max(maxHung, descendants(pid).filter((p) => p.cmd === 'sleep 600').length);
          return st.ruleset !== null && st.ruleset.reads >= 1 && st.proxy !== null;
        },
        40_000,
      );
      const tookMs = Date.now() - startedAt;
      console.log(`ruleset read after ${tookMs} ms with iptables-legacy-save hanging; at most ${maxHung} hung at once`);
      assert.ok(tookMs >= 9000, `the hang was waited for (${tookMs} ms): the fake really hangs`);
      assert.match(s.proxy!.label, /OpenClash/, 'the proxy is still recognised from the nft-variant dump');
      assert.ok(maxHung <= 3, `hung children at once: ${maxHung}`);
      // Each hung save is killed after 10 s.
      await sleep(1000);
      for (const p of descendants(pid).filter((x) => x.cmd === 'sleep 600')) {
        const ageS = Number(readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]) / 100;
        const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
        assert.ok(uptime - ageS < 12, `a hung iptables-legacy-save lives ${(uptime - ageS).toFixed(1)} s`);
      }
      assert.equal(d.child.exitCode, null);
      assert.equal(await d.stop(), 0);
      await sleep(300);
      assert.deepEqual(
        descendants(pid).map((p) => p.cmd),
        [],
      );
    });
  });

  describe('disk full under the state dir', () => {
    const dir = join(root, 'full');
    let child: ChildProcess | undefined;

    after(async () => {
      if (child && child.exitCode === null) {
        child.kill('SIGKILL');
        await waitExit(child, 2000);
      }
    });

    it('the old status.json stays whole, one log line, keeps running, recovers when space is freed', {
      timeout: 40_000,
    }, async () => {
      const bin = join(dir, 'bin');
      const state = join(dir, 'state');
      mkdirSync(bin, { recursive: true });
      mkdirSync(state, { recursive: true });
      // A stand-in conntrack: one hijack, then quiet (this test is about the disk).
      writeFileSync(
        join(bin, 'conntrack'),
        `#!/bin/bash\nif [ "$1" = "-E" ]; then echo '    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=53686 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443 id=2817674855'; exec sleep 600; fi\nexit 0\n`,
      );
      chmodSync(join(bin, 'conntrack'), 0o755);
      const config = join(dir, 'rg.ini');
      writeFileSync(config, '[main]\nlan_subnets = 192.168.50.0/24\nstatus_interval = 1\n');
      const script = `mount -t tmpfs -o size=256k,mode=0755 rgfull '${state}' && exec '${process.execPath}' '${BUNDLE}' run --config '${config}' --state-dir '${state}'`;
      child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
        env: { PATH: `${bin}:/usr/bin:/bin:/usr/sbin:/sbin`, HOME: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      // The tmpfs exists only in the daemon's mount namespace: reach it through its /proc root.
      const inside = `/proc/${child.pid}/root${state}`;
      const d = followDaemon(child, inside);
      await d.waitFor(
        'a hijack in status',
        (s) => s.findings.length > 0 && s.sensors.conntrack.state === 'running',
        10_000,
      );
      assert.equal(readdirSync(state).length, 0, 'the host side of the mount point is untouched');

      // Fill it up (the tmpfs is tiny; a write beyond it fails with ENOSPC).
      const filler = join(inside, 'filler');
      const chunk = Buffer.alloc(16 * 1024, 1);
      let written = 0;
      try {
        for (;;) {
          writeFileSync(filler, chunk, { flag: 'a' });
          written += chunk.length;
          if (written > 1024 * 1024) break;
        }
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      }
      assert.ok(written < 1024 * 1024, 'the disk filled up');
      const beforeText = readFileSync(join(inside, 'status.json'), 'utf8');
      await d.waitLog(/status: cannot write .*ENOSPC/, 5000);
      // Several periodic writes (every 1 s) fail meanwhile.
      await sleep(3500);
      const text = readFileSync(join(inside, 'status.json'), 'utf8');
      assert.equal(text, beforeText, 'the old status.json is kept whole');
      assert.doesNotThrow(() => JSON.parse(text));
      assert.equal((d.log().match(/status: cannot write/g) ?? []).length, 1, 'logged once, not per attempt');
      assert.deepEqual(
        readdirSync(inside).filter((f) => f.endsWith('.tmp')),
        [],
        'no half-written temporary file is left',
      );
      assert.equal(child.exitCode, null, 'the daemon keeps running');

      rmSync(filler);
      await d.waitLog(/status: writing works again/, 5000);
      const s = await d.waitFor(
        'a fresh status',
        (st) => Date.parse(st.updated_at) > Date.parse(JSON.parse(text).updated_at),
      );
      assert.equal(s.health, 'problem', 'and it tells the truth');
      assert.equal(s.sensors.conntrack.state, 'running');
      const kids = descendants(child.pid!).map((p) => p.pid);
      assert.equal(await d.stop(), 0);
      await sleep(200);
      for (const p of kids) assert.equal(isAlive(p), false, `child ${p} outlived the daemon`);
    });
  });

  describe('SIGTERM while status.json is rewritten fast', () => {
    let lab: Lab;
    before(async () => {
      lab = await createLab({ mode: 'iptables-redirect', tag: 'fterm' });
    });
    after(async () => lab?.destroy());

    it('20 times: exit 0, status.json always whole, no *.tmp, no child, no replyguard table left', {
      timeout: 85_000,
    }, async () => {
      const ROUNDS = 20;
      const config = labConfig(lab, { main: { probe: 'on', probe_interval: 1, status_interval: 1 } });
      let parseFailures = 0;
      let reads = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const dir = join(root, `term-${round}`);
        mkdirSync(dir, { recursive: true });
        const d = await startDaemon(lab, config, { dir });
        const pid = d.child.pid!;
        await d.waitFor('the probe table', (s) => s.sensors.probe.state === 'running', 10_000);
        // Frequent writes: every SIGUSR1 (LuCI's "Re-check now") schedules one; a reader checks each version.
        const path = join(d.stateDir, 'status.json');
        let storming = true;
        const storm = (async () => {
          while (storming) {
            d.child.kill('SIGUSR1');
            await sleep(3);
          }
        })();
        const reader = (async () => {
          while (storming || d.child.exitCode === null) {
            try {
              JSON.parse(readFileSync(path, 'utf8'));
              reads++;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOENT') parseFailures++;
            }
            await sleep(1);
          }
        })();
        await sleep(50 + Math.floor(Math.random() * 250));
        const kids = descendants(pid);
        storming = false;
        await storm;
        d.child.kill('SIGTERM');
        await waitExit(d.child, 8000);
        await reader;
        assert.equal(d.child.exitCode, 0, `round ${round}: exit ${d.child.exitCode ?? d.child.signalCode}\n${d.log()}`);
        const final = JSON.parse(readFileSync(path, 'utf8')) as { sensors: { conntrack: { state: string } } };
        assert.equal(final.sensors.conntrack.state, 'stopped', `round ${round}: the last status says stopped`);
        assert.deepEqual(
          readdirSync(d.stateDir).filter((f) => f.endsWith('.tmp')),
          [],
          `round ${round}: temporary files left`,
        );
        await sleep(100);
        const left = kids.filter((k) => isAlive(k.pid));
        assert.deepEqual(left, [], `round ${round}: children outlived the daemon`);
        const tables = await lab.exec(lab.ns.side, ['nft', 'list', 'tables']);
        assert.doesNotMatch(tables.stdout, /replyguard/, `round ${round}: ${tables.stdout}`);
        await d.stop(); // removes the dir
      }
      console.log(`SIGTERM ×${ROUNDS}: ${reads} status.json reads during the storms, ${parseFailures} unparsable`);
      assert.equal(parseFailures, 0);
      assert.ok(reads > ROUNDS, 'the reader really read');
    });
  });
});
