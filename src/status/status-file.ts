// Writes status.json so that a reader never sees half a file: write a
// temporary file in the same directory, then rename it over the old one.

import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STATUS_FILE = 'status.json';

export function statusPath(stateDir: string): string {
  return join(stateDir, STATUS_FILE);
}

export function writeStatusAtomic(stateDir: string, doc: unknown): void {
  mkdirSync(stateDir, { recursive: true });
  const target = statusPath(stateDir);
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(doc, null, 1)}\n`, { mode: 0o644 });
    renameSync(tmp, target);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw err;
  }
}
