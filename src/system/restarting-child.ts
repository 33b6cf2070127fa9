// A long-running child that tells of changes (`nft monitor ruleset`, `tc monitor`): started again
// with backoff whenever it ends, the backoff back at its minimum after a run that lasted. It does not
// know what the child's lines mean; its owner does.

import type { ChildProcess } from 'node:child_process';
import { startChild } from './run-command';

/** What of the child's stderr is kept for the reason it ended. */
const STDERR_KEPT = 2000;

export interface RestartingChildOptions {
  minBackoffMs: number;
  maxBackoffMs: number;
  /** A run at least this long resets the backoff. */
  stableMs: number;
  /** A chunk of the child's stdout (UTF-8). */
  onStdout: (chunk: string) => void;
  /** The child runs (its pid). */
  onUp: (pid: number | undefined) => void;
  /** It ended while wanted: why (what it said on stderr, else its exit), and when it starts again. */
  onDown: (why: string, retryMs: number) => void;
  /** It was started again after ending: what changed while it was down is for the owner to read. */
  onRestarted?: () => void;
}

export class RestartingChild {
  private child?: ChildProcess;
  private restartTimer?: NodeJS.Timeout;
  private backoffMs: number;
  private wanted = false;

  constructor(
    private readonly argv: readonly string[],
    private readonly opts: RestartingChildOptions,
  ) {
    this.backoffMs = opts.minBackoffMs;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.launch();
  }

  stop(): void {
    this.wanted = false;
    clearTimeout(this.restartTimer);
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }

  private launch(): void {
    if (!this.wanted) return;
    const child = startChild(this.argv);
    this.child = child;
    const startedAt = Date.now();
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.opts.onStdout(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < STDERR_KEPT) stderr += chunk;
    });
    child.on('error', (err) => {
      stderr += err.message;
    });
    child.on('spawn', () => {
      if (this.child === child) this.opts.onUp(child.pid);
    });
    // 'close', not 'exit': stderr has been read to its end by then.
    child.on('close', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.wanted) return;
      if (Date.now() - startedAt > this.opts.stableMs) this.backoffMs = this.opts.minBackoffMs;
      this.opts.onDown(stderr.trim() || `exited (${signal ?? code})`, this.backoffMs);
      this.restartTimer = setTimeout(() => {
        this.launch();
        this.opts.onRestarted?.();
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs);
    });
  }
}
