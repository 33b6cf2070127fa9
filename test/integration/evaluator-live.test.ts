// The daemon on a live ruleset that a naive evaluator cannot finish: the
// kernel holds test/fixtures/attacks/evaluator-jump-fanout-marks (13 mangle
// chains, each jumping 4 times to the next after toggling a mark bit: 4^13
// paths, no two alike) in a network namespace of this test's own. The daemon
// reads it, evaluates the declared forward's replies on it (an honest
// "undetermined" at the budget), keeps writing status.json and stops on
// SIGTERM. Before, it stopped writing, grew ~100 MB/s and ignored SIGTERM.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BUNDLE, followDaemon } from '../helpers/daemon';

const FIXTURE = join(__dirname, '..', 'fixtures', 'attacks', 'evaluator-jump-fanout-marks', 'iptables-save.txt');
const NS = `rg-eval-${process.pid}-${Math.floor(Math.random() * 1e6)}`;

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

describe('daemon on a ruleset with 4^13 paths (real kernel)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-eval-live-'));
  after(() => {
    try {
      execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    } catch {
      // not made
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps writing status.json, stays small and stops on SIGTERM', { timeout: 60_000 }, async () => {
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['netns', 'exec', NS, 'iptables-restore', '-w'], { input: readFileSync(FIXTURE) });
    const configPath = join(dir, 'replyguard.ini');
    writeFileSync(
      configPath,
      '[main]\nlan_interfaces = lo\nlan_subnets = 192.168.1.0/24\nprobe = off\nstatus_interval = 1\n' +
        '[forward.nas]\nhost = 192.168.1.10\nport = 443\n',
    );
    const stateDir = join(dir, 'state');
    const child = spawn(
      'ip',
      ['netns', 'exec', NS, process.execPath, BUNDLE, 'run', '--config', configPath, '--state-dir', stateDir],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } },
    );
    const daemon = followDaemon(child, stateDir);
    try {
      const first = await daemon.waitFor('the ruleset read', (s) => (s.ruleset?.reads ?? 0) >= 1, 20_000);
      assert.ok(first.ruleset?.backend.includes('iptables'), JSON.stringify(first.ruleset));
      // status.json goes on being rewritten every second (the event loop is not stuck in an evaluation).
      const at = Date.parse(first.updated_at);
      await daemon.waitFor('a later status write', (s) => Date.parse(s.updated_at) >= at + 2000, 10_000);
      const rss = rssMb(child.pid!);
      assert.ok(rss < 200, `RSS ${rss.toFixed(0)} MB`);
      process.stdout.write(`# daemon RSS with the 4^13-path ruleset: ${rss.toFixed(1)} MB\n`);
      const t = Date.now();
      assert.equal(await daemon.stop(), 0, daemon.log());
      assert.ok(Date.now() - t < 8000, 'SIGTERM obeyed before the SIGKILL grace time');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
