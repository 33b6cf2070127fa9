// SIGTERM while the guard's and the probe's `nft -f` hang: the daemon ends
// both at once and exits, long before their own time limits (5 s for the
// probe, 10 s for the guard) and procd's SIGKILL (term_timeout 10 s).
//
// The daemon runs in a lab (nft REDIRECT proxy, guard = auto, probe = on) in
// a mount namespace of its own, where a stand-in is bound over /usr/sbin/nft:
// `nft -f` notes its pid and which script it was given, then sleeps; every
// other nft command runs the real nft. The host keeps its own nft.

import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUNDLE, type DaemonFollower, followDaemon, labConfig } from '../helpers/daemon';
import { isAlive } from '../helpers/proc';
import { createLab, type Lab } from '../lab/lab';

/** Well under the probe's 5 s time limit: the stop ended the hung nft, no time limit did. */
const STOP_LIMIT_MS = 3000;

describe('stop with a hung nft -f', () => {
  let lab: Lab;
  let daemon: DaemonFollower | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'rg-hung-nft-'));
  const hungFile = join(dir, 'hung');
  /** The stand-in's `nft -f` processes so far: pid and whose script (guard or probe). */
  const hung = (): Array<{ pid: number; who: string }> => {
    let text = '';
    try {
      text = readFileSync(hungFile, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [pid, who] = l.split(' ');
        return { pid: Number(pid), who: who! };
      });
  };

  before(async () => {
    lab = await createLab({ mode: 'nft-redirect', tag: 'hang' });
    copyFileSync('/usr/sbin/nft', join(dir, 'nft.real'));
    chmodSync(join(dir, 'nft.real'), 0o755);
    const fake = join(dir, 'nft.fake');
    writeFileSync(
      fake,
      `#!/bin/bash
for a in "$@"; do
  if [ "$a" = "-f" ]; then
    case "$(cat)" in *replyguard_guard*) who=guard ;; *) who=probe ;; esac
    echo "$$ $who" >> '${hungFile}'
    exec sleep 600
  fi
done
exec -a "$0" '${join(dir, 'nft.real')}' "$@"
`,
    );
    chmodSync(fake, 0o755);
    const config = join(dir, 'rg.ini');
    writeFileSync(config, labConfig(lab, { main: { guard: 'auto', probe: 'on' } }));
    const state = join(dir, 'state');
    const script = `mount --bind '${fake}' /usr/sbin/nft && exec '${process.execPath}' '${BUNDLE}' run --config '${config}' --state-dir '${state}'`;
    const child = lab.spawn(lab.ns.side, ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script]);
    daemon = followDaemon(child, state);
  });

  after(async () => {
    await daemon?.stop();
    for (const h of hung()) if (isAlive(h.pid)) process.kill(h.pid, 'SIGKILL');
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGTERM ends the hung nft of the guard and of the probe and exits within 3 s', { timeout: 60_000 }, async () => {
    const d = daemon!;
    // Both hang at the same time: the probe's install at start, the guard's apply after the first read.
    const deadline = Date.now() + 20_000;
    const bothHung = () => ['guard', 'probe'].every((who) => hung().some((h) => h.who === who && isAlive(h.pid)));
    while (!bothHung()) {
      if (Date.now() > deadline)
        assert.fail(`no hung nft -f of both the guard and the probe: ${JSON.stringify(hung())}\n${d.log()}`);
      assert.equal(d.child.exitCode, null, d.log());
      await sleep(50);
    }

    const exited = new Promise<void>((r) => d.child.once('exit', () => r()));
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    await Promise.race([exited, sleep(12_000)]);
    const tookMs = Date.now() - t0;
    console.log(`# exited ${tookMs} ms after SIGTERM, ${hung().length} hung nft -f ended`);
    assert.equal(d.child.exitCode, 0, `the daemon exited cleanly (${tookMs} ms)\n${d.log()}`);
    assert.ok(tookMs < STOP_LIMIT_MS, `exited ${tookMs} ms after SIGTERM\n${d.log()}`);
    await sleep(100);
    const left = hung().filter((h) => isAlive(h.pid));
    assert.deepEqual(left, [], `hung nft -f left running after the daemon exited\n${d.log()}`);
  });
});
