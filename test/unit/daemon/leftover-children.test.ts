// The children's pid file: only the very processes recorded (same pid, start
// time and name) are ended at the next start; a reused pid or a file that is
// not ours ends nothing.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CHILDREN_FILE,
  endLeftoverChildren,
  processRecord,
  rememberChildren,
} from '../../../src/daemon/leftover-children';
import { createLogger } from '../../../src/system/log';

const root = mkdtempSync(join(tmpdir(), 'rg-leftover-'));
const spawned: number[] = [];
after(() => {
  for (const pid of spawned) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

function sleeper() {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  spawned.push(child.pid!);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { pid: child.pid!, exited, running: () => child.exitCode === null && child.signalCode === null };
}

describe('leftover children', () => {
  it('records pid, start time and name, and ends exactly those at the next start', async () => {
    const dir = join(root, 'a');
    const s = sleeper();
    rememberChildren(dir, [s.pid, 999_999_999]);
    const text = readFileSync(join(dir, CHILDREN_FILE), 'utf8');
    assert.match(text, new RegExp(`^${s.pid} \\d+ sleep\\n$`), 'a pid that is not alive is left out');
    const logs: string[] = [];
    const ended = await endLeftoverChildren(
      dir,
      createLogger('info', (l) => logs.push(l)),
    );
    assert.deepEqual(ended, [s.pid]);
    await s.exited;
    assert.match(logs.join(''), new RegExp(`ended 1 process\\(es\\) an earlier run left behind: sleep \\(${s.pid}\\)`));
    assert.equal(existsSync(join(dir, CHILDREN_FILE)), false);
  });

  it('a pid reused by another process (other start time or name) is not touched', async () => {
    const dir = join(root, 'b');
    const s = sleeper();
    const rec = processRecord(s.pid)!;
    mkdirSync(dir);
    writeFileSync(
      join(dir, CHILDREN_FILE),
      `${s.pid} ${Number(rec.start) + 1} sleep\n${s.pid} ${rec.start} conntrack\n${process.pid} ${processRecord(process.pid)!.start} node\n1 1 init\n`,
    );
    const ended = await endLeftoverChildren(
      dir,
      createLogger('error', () => {}),
    );
    assert.deepEqual(ended, []);
    assert.ok(s.running(), 'the process with the reused pid still runs');
  });

  it('an empty list removes the file; garbage in it ends nothing', async () => {
    const dir = join(root, 'c');
    const s = sleeper();
    rememberChildren(dir, [s.pid]);
    rememberChildren(dir, []);
    assert.equal(existsSync(join(dir, CHILDREN_FILE)), false);
    writeFileSync(join(dir, CHILDREN_FILE), `x y z\n${'9'.repeat(40)} 1 a\n\u0000\n`);
    assert.deepEqual(
      await endLeftoverChildren(
        dir,
        createLogger('error', () => {}),
      ),
      [],
    );
    assert.ok(s.running());
  });
});
