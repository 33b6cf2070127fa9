// Starts every child process: an argument array (never a shell), an optional
// time limit, and a place in the one set of running children, so that a
// stopping daemon ends them all at once — a hung `nft -f` as well as
// `conntrack -E` — instead of waiting for their time limits or leaving them
// behind. runCommand runs one to completion and collects bounded output.

import { type ChildProcess, spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not start (ENOENT …), ran out of time or printed too much. */
  error?: string;
}

export interface ChildOptions {
  /** 'pipe' for a child that reads what it is given (default: stdin closed). */
  stdin?: 'pipe' | 'ignore';
  /** SIGKILL after this long (default: none, for children that run until stopped). */
  timeoutMs?: number;
  /** Told just before the time limit's SIGKILL. */
  onTimeout?: () => void;
}

/** Every child started here that has not exited. */
const running = new Set<ChildProcess>();
/** Children killChildren ended: their commands report that, not a bare SIGKILL. */
const killed = new WeakSet<ChildProcess>();
/** Set once the daemon has ended its children for good: a child started later is ended at once. */
let ended = false;

/** Starts argv[0] with stdout and stderr piped; the child is in the running set until it exits. */
export function startChild(argv: readonly string[], opts: ChildOptions = {}): ChildProcess {
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
  running.add(child);
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          opts.onTimeout?.();
          child.kill('SIGKILL');
        }, opts.timeoutMs);
  const gone = () => {
    clearTimeout(timer);
    running.delete(child);
  };
  // 'exit' when it ran; only 'close' (after 'error') when it could not start.
  child.once('exit', gone);
  child.once('close', gone);
  if (ended) end(child);
  return child;
}

/**
 * SIGKILLs every child still running (at stop: their results no longer matter); with `forGood`,
 * also every child started from now on. Returns how many were running.
 */
export function killChildren(forGood = false): number {
  if (forGood) ended = true;
  const n = running.size;
  for (const child of running) end(child);
  return n;
}

function end(child: ChildProcess): void {
  killed.add(child);
  child.kill('SIGKILL');
}

/** The pids of the children still running. */
export function runningChildPids(): number[] {
  return [...running].map((c) => c.pid).filter((p): p is number => p !== undefined);
}

export function runCommand(
  argv: readonly string[],
  opts: { timeoutMs?: number; maxBytes?: number; input?: string } = {},
): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  const cmd = argv[0];
  return new Promise((resolve) => {
    let error: string | undefined;
    let child: ChildProcess;
    try {
      child = startChild(argv, {
        stdin: opts.input === undefined ? 'ignore' : 'pipe',
        timeoutMs,
        onTimeout: () => {
          error ??= `${cmd} did not finish within ${timeoutMs} ms`;
        },
      });
    } catch (err) {
      // An argument spawn refuses outright (a NUL byte …).
      resolve({
        code: null,
        signal: null,
        stdout: '',
        stderr: '',
        error: `cannot run ${cmd}: ${(err as Error).message}`,
      });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout!.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes <= maxBytes) out.push(b);
      else if (!error) {
        error = `${cmd} printed more than ${maxBytes} bytes`;
        child.kill('SIGKILL');
      }
    });
    child.stderr!.on('data', (b: Buffer) => {
      errBytes += b.length;
      if (errBytes <= 65536) err.push(b);
    });
    child.on('error', (e) => {
      error = `cannot run ${cmd}: ${e.message}`;
    });
    child.on('close', (code, signal) => {
      if (killed.has(child)) error ??= `${cmd} was ended: replyguard is stopping`;
      const result: CommandResult = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (error) result.error = error;
      resolve(result);
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}); // EPIPE when the command exits without reading
      child.stdin!.end(opts.input);
    }
  });
}
