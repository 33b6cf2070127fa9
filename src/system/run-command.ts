// Runs a command to completion with an argument array (never a shell) and a
// time limit, collecting bounded output.

import { type ChildProcess, spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not start (ENOENT …) or ran out of time. */
  error?: string;
}

/** Children of runCommand still running: a stopping daemon kills them instead of waiting for their time limit. */
const running = new Set<ChildProcess>();

/** SIGKILLs every command runCommand started that has not finished (at stop; their results no longer matter). */
export function killRunningCommands(): number {
  for (const child of running) child.kill('SIGKILL');
  return running.size;
}

export function runCommand(
  argv: readonly string[],
  opts: { timeoutMs?: number; maxBytes?: number } = {},
): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let error: string | undefined;
    const timer = setTimeout(() => {
      error = `${cmd} did not finish within ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes <= maxBytes) out.push(b);
      else if (!error) {
        error = `${cmd} printed more than ${maxBytes} bytes`;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (b: Buffer) => {
      errBytes += b.length;
      if (errBytes <= 65536) err.push(b);
    });
    child.on('error', (e) => {
      error = `cannot run ${cmd}: ${e.message}`;
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      const result: CommandResult = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (error) result.error = error;
      resolve(result);
    });
  });
}
