// The restart-with-backoff of the long-running monitor children (nft monitor, tc monitor), with real
// child processes (sh): why it ended, the backoff doubling to its cap and reset after a run that
// lasted, its output passed on, and a stop that ends it for good.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestartingChild } from '../../../src/system/restarting-child';
import { isAlive } from '../../helpers/proc';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  for (let waited = 0; !ok(); waited += 20) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('RestartingChild', () => {
  it('a child that ends at once: its stderr is the reason, the backoff doubles up to its cap, each restart told', async () => {
    const downs: Array<{ why: string; retryMs: number }> = [];
    let restarted = 0;
    const c = new RestartingChild(['sh', '-c', 'echo "no monitor here" >&2; exit 1'], {
      minBackoffMs: 20,
      maxBackoffMs: 80,
      stableMs: 60_000,
      onStdout: () => {},
      onUp: () => {},
      onDown: (why, retryMs) => downs.push({ why, retryMs }),
      onRestarted: () => restarted++,
    });
    c.start();
    try {
      await until('five ends', () => downs.length >= 5);
    } finally {
      c.stop();
    }
    assert.deepEqual(
      downs.slice(0, 5).map((d) => d.retryMs),
      [20, 40, 80, 80, 80],
    );
    assert.ok(downs.every((d) => d.why === 'no monitor here'));
    assert.ok(restarted >= 4, `restarted ${restarted}`);
  });

  it('without stderr, the exit is the reason; a run longer than stableMs starts the backoff over', async () => {
    const downs: Array<{ why: string; retryMs: number }> = [];
    const c = new RestartingChild(['sh', '-c', 'sleep 0.15; exit 3'], {
      minBackoffMs: 10,
      maxBackoffMs: 1000,
      stableMs: 100,
      onStdout: () => {},
      onUp: () => {},
      onDown: (why, retryMs) => downs.push({ why, retryMs }),
    });
    c.start();
    try {
      await until('three ends', () => downs.length >= 3);
    } finally {
      c.stop();
    }
    assert.deepEqual(downs.slice(0, 3), [
      { why: 'exited (3)', retryMs: 10 },
      { why: 'exited (3)', retryMs: 10 },
      { why: 'exited (3)', retryMs: 10 },
    ]);
  });

  it('passes its output on, says its pid, and a stop ends it without a restart', async () => {
    let out = '';
    let up: number | undefined;
    let downs = 0;
    const c = new RestartingChild(['sh', '-c', 'echo "added filter dev br-lan ingress"; exec sleep 30'], {
      minBackoffMs: 10,
      maxBackoffMs: 10,
      stableMs: 1000,
      onStdout: (chunk) => {
        out += chunk;
      },
      onUp: (pid) => {
        up = pid;
      },
      onDown: () => downs++,
    });
    c.start();
    await until('its line', () => out.includes('\n'));
    assert.equal(out, 'added filter dev br-lan ingress\n');
    assert.equal(c.running, true);
    assert.equal(c.pid, up);
    const pid = c.pid!;
    c.stop();
    assert.equal(c.running, false);
    await until('the child to end', () => !isAlive(pid));
    await sleep(100);
    assert.equal(downs, 0);
    assert.equal(c.running, false);
  });
});
