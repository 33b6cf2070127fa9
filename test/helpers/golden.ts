// Golden files: the expected output lives next to the input. Run with
// UPDATE_GOLDEN=1 to rewrite them after a deliberate change, then review the diff.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** How a golden file holds a value. */
export function goldenText(actual: unknown): string {
  return `${JSON.stringify(actual, null, 1)}\n`;
}

export function assertGolden(expectedPath: string, actual: unknown): void {
  const text = goldenText(actual);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(expectedPath)) {
    if (process.env.CI === 'true' && !existsSync(expectedPath)) assert.fail(`golden file missing: ${expectedPath}`);
    writeFileSync(expectedPath, text);
    return;
  }
  assert.deepEqual(JSON.parse(text), JSON.parse(readFileSync(expectedPath, 'utf8')), `differs from ${expectedPath}`);
}
