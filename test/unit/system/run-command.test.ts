// runCommand and the set of running children: time limits, output bounds,
// input, and the kill at stop that ends every child at once.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { killChildren, runCommand, runningChildPids, startChild } from '../../../src/system/run-command';
import { isAlive } from '../../helpers/proc';

describe('runCommand', () => {
  it('gives the command its input on stdin and returns what it printed', async () => {
    const r = await runCommand(['/bin/cat'], { input: 'table inet x\n' });
    assert.deepEqual(r, { code: 0, signal: null, stdout: 'table inet x\n', stderr: '' });
  });

  it('kills a command at its time limit and says so', async () => {
    const t0 = Date.now();
    const r = await runCommand(['/bin/sleep', '30'], { timeoutMs: 200 });
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.error, '/bin/sleep did not finish within 200 ms');
  });

  it('kills a command that prints more than maxBytes', async () => {
    const r = await runCommand(['/bin/cat', '/dev/zero'], { maxBytes: 1000 });
    assert.equal(r.error, '/bin/cat printed more than 1000 bytes');
    assert.ok(r.stdout.length <= 1000);
  });

  it('says why a command cannot start', async () => {
    const r = await runCommand(['/nonexistent/nft', '-f', '-'], { input: 'x' });
    assert.match(r.error ?? '', /^cannot run \/nonexistent\/nft: .*ENOENT/);
    assert.deepEqual(runningChildPids(), []);
  });
});

describe('killChildren', () => {
  it('ends every running child at once, short commands and long-running ones alike', async () => {
    const long = startChild(['/bin/sleep', '30']);
    const pending = runCommand(['/bin/sh', '-c', 'cat >/dev/null; exec sleep 30'], { input: 'x', timeoutMs: 20_000 });
    await sleep(100);
    const pids = runningChildPids();
    assert.equal(pids.length, 2, `running: ${pids.join(' ')}`);
    assert.ok(pids.includes(long.pid!));
    const t0 = Date.now();
    assert.equal(killChildren(), 2);
    const r = await pending;
    assert.ok(Date.now() - t0 < 2000, 'not at its time limit');
    assert.equal(r.error, '/bin/sh was ended: replyguard is stopping');
    await sleep(50);
    assert.deepEqual(pids.filter(isAlive), []);
    assert.deepEqual(runningChildPids(), []);
  });

  it('with forGood, also ends a child started afterwards', async () => {
    killChildren(true);
    const r = await runCommand(['/bin/sleep', '30'], { timeoutMs: 20_000 });
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.error, '/bin/sleep was ended: replyguard is stopping');
  });
});
