// The one entry point of the bundle: dispatches to the commands. Imported up front, not on demand: the
// bundler would wrap every module behind an import() in a lazy initialiser, and the hot paths (conntrack
// lines, the capture glance) ran ~15% slower reading their module constants through it.

import { UsageError } from './cli/args';
import { runAnalyze } from './cli/cmd-analyze';
import { runDiagnose } from './cli/cmd-diagnose';
import { runExplain } from './cli/cmd-explain';
import { runGuard } from './cli/cmd-guard';
import { runDaemon } from './cli/cmd-run';
import { runStatus } from './cli/cmd-status';
import { runTrace } from './cli/cmd-trace';
import { HELP } from './cli/help';
import { inputText } from './util/input-text';
import { VERSION } from './version';

export const EXIT_USAGE = 64;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${HELP.main}\n`);
    return command === undefined ? EXIT_USAGE : 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`replyguard ${VERSION}\n`);
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const text = HELP[command];
    if (text) {
      process.stdout.write(`${text}\n`);
      return 0;
    }
  }
  const commands: Record<string, (args: string[]) => Promise<number>> = {
    run: runDaemon,
    status: runStatus,
    analyze: runAnalyze,
    explain: runExplain,
    diagnose: runDiagnose,
    trace: runTrace,
    guard: runGuard,
  };
  const handler = commands[command];
  if (!handler) {
    process.stderr.write(`replyguard: unknown command '${inputText(command, 64)}'\n\n${HELP.main}\n`);
    return EXIT_USAGE;
  }
  try {
    return await handler(rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`replyguard ${command}: ${inputText(err.message, 300)}\n\n${HELP[command]}\n`);
    return EXIT_USAGE;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`replyguard: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
