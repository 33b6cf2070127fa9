// The one entry point of the bundle: dispatches to the commands. `analyze` is imported up front, the others
// when asked for. A module behind an import() is bundled inside a lazy initialiser, and the capture
// glance, reading its byte classes and constants through one, ran 15–17% slower; loading the daemon, MQTT and
// the rule evaluator for an analysis cost it 40 ms and 4 MB of peak RSS (see `npm run bench`). So nothing
// on the analyze path may be imported only lazily: src/analyze/ stays reachable from here alone.

import { UsageError } from './cli/args';
import { runAnalyze } from './cli/cmd-analyze';
import { EXIT_USAGE } from './cli/exit-codes';
import { HELP } from './cli/help';
import { inputText } from './util/input-text';
import { VERSION } from './version';

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
    run: async (a) => (await import('./cli/cmd-run')).runDaemon(a),
    status: async (a) => (await import('./cli/cmd-status')).runStatus(a),
    analyze: runAnalyze,
    explain: async (a) => (await import('./cli/cmd-explain')).runExplain(a),
    diagnose: async (a) => (await import('./cli/cmd-diagnose')).runDiagnose(a),
    trace: async (a) => (await import('./cli/cmd-trace')).runTrace(a),
    guard: async (a) => (await import('./cli/cmd-guard')).runGuard(a),
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
