// `replyguard status`: reads status.json and explains it.

import { readFileSync } from 'node:fs';
import { statusPath } from '../outputs/status-file';
import type { StatusDocument } from '../status/status-schema';
import { renderStatusText } from '../status/status-text';
import { terminalText } from '../util/input-text';
import { flagString, parseArgs } from './args';
import { configFor } from './config-option';

export const STATUS_EXIT = { ok: 0, degraded: 1, problem: 2, none: 3 } as const;

export async function runStatus(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['--state-dir', '--config'], ['--json']);
  let stateDir = flagString(args, '--state-dir');
  let staleAfter = 90;
  if (stateDir === undefined) {
    try {
      const config = configFor(flagString(args, '--config'));
      stateDir = config.main.stateDir;
      staleAfter = config.main.statusInterval * 3;
    } catch (err) {
      process.stderr.write(`replyguard: config: ${(err as Error).message}\n`);
      return STATUS_EXIT.none;
    }
  }
  const file = statusPath(stateDir);
  let doc: StatusDocument;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as StatusDocument;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no status file — is the daemon running? (service replyguard start)' : (err as Error).message;
    process.stderr.write(`replyguard: ${file}: ${why}\n`);
    return STATUS_EXIT.none;
  }
  if (args.flags.has('--json')) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else process.stdout.write(terminalText(renderStatusText(doc, Date.now(), staleAfter)));
  return STATUS_EXIT[doc.health] ?? STATUS_EXIT.none;
}
