// The one entry point of the bundle: dispatches to the commands.

import { UsageError } from './cli/args';
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
  // Loaded on demand: a command starts without evaluating the modules of the others (MQTT's among them).
  const commands: Record<string, () => Promise<(args: string[]) => Promise<number>>> = {
    run: async () => (await import('./cli/cmd-run')).runDaemon,
    status: async () => (await import('./cli/cmd-status')).runStatus,
    analyze: async () => (await import('./cli/cmd-analyze')).runAnalyze,
    explain: async () => (await import('./cli/cmd-explain')).runExplain,
    diagnose: async () => (await import('./cli/cmd-diagnose')).runDiagnose,
    trace: async () => (await import('./cli/cmd-trace')).runTrace,
    guard: async () => (await import('./cli/cmd-guard')).runGuard,
  };
  const load = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!load) {
    process.stderr.write(`replyguard: unknown command '${inputText(command, 64)}'\n\n${HELP.main}\n`);
    return EXIT_USAGE;
  }
  try {
    return await (await load())(rest);
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
