// The built bundle for tests that run `replyguard` commands, and dumps made comparable.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUNDLE = join(__dirname, '..', '..', 'dist', 'replyguard.js');

/**
 * Builds dist/replyguard.js when it is missing or older than the guard (`make test` builds it first anyway).
 * Never again when it is there: test files run in parallel, and a rebuild under another test's running
 * daemon left it a truncated bundle to start ("SyntaxError: Unexpected end of input").
 */
export function ensureBundle(): void {
  let text = '';
  try {
    text = readFileSync(BUNDLE, 'utf8');
  } catch {
    // not built yet
  }
  if (!text.includes('replyguard-guard'))
    execFileSync('npm', ['run', 'build'], { cwd: join(__dirname, '..', '..'), stdio: 'ignore' });
}

/** Rules without counters and tool banners, so that two dumps of the same rules compare equal. */
export function normaliseDump(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^# (Generated|Completed)/.test(l))
    .map((l) =>
      l
        .replace(/\[\d+:\d+\]/g, '[0:0]')
        .replace(/counter packets \d+ bytes \d+/g, 'counter')
        .replace(/packets \d+ bytes \d+/g, ''),
    )
    .join('\n');
}
