// Writes status.json so that a reader never sees half a file: write a
// temporary file in the same directory, then rename it over the old one.

import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureStateDir } from '../system/state-dir';

export const STATUS_FILE = 'status.json';

export function statusPath(stateDir: string): string {
  return join(stateDir, STATUS_FILE);
}

export function writeStatusAtomic(stateDir: string, doc: unknown): void {
  ensureStateDir(stateDir);
  const target = statusPath(stateDir);
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    // 'wx': a file (or link) already there under the temporary name is never written through.
    unlinkTmp(tmp);
    writeFileSync(tmp, `${JSON.stringify(doc, null, 1)}\n`, { mode: 0o644, flag: 'wx' });
    renameSync(tmp, target);
  } catch (err) {
    unlinkTmp(tmp);
    throw err;
  }
}

function unlinkTmp(tmp: string): void {
  try {
    unlinkSync(tmp);
  } catch {
    // not there
  }
}
