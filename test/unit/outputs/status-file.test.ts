import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { statusPath, writeStatusAtomic } from '../../../src/outputs/status-file';

describe('writeStatusAtomic', () => {
  it('replaces the file whole and leaves no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-status-'));
    try {
      writeStatusAtomic(dir, { n: 1 });
      writeStatusAtomic(dir, { n: 2 });
      assert.deepEqual(JSON.parse(readFileSync(statusPath(dir), 'utf8')), { n: 2 });
      assert.deepEqual(readdirSync(dir), ['status.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the old status when a write fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-status-'));
    try {
      writeStatusAtomic(dir, { n: 1 });
      // A directory where the temporary file should go makes the write fail midway.
      const blocker = `${statusPath(dir)}.${process.pid}.tmp`;
      mkdirSync(blocker);
      assert.throws(() => writeStatusAtomic(dir, { n: 2 }));
      assert.deepEqual(JSON.parse(readFileSync(statusPath(dir), 'utf8')), { n: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the state directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-status-'));
    try {
      const nested = join(dir, 'a', 'b');
      writeStatusAtomic(nested, { ok: true });
      assert.deepEqual(JSON.parse(readFileSync(statusPath(nested), 'utf8')), { ok: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
