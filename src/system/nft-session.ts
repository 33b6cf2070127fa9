// One long-running `nft -j -i` that answers one command per line: reading the
// probe's counters every couple of seconds then costs a netlink dump, not a
// fork and exec of nft (the daemon's idle CPU on a router, see `npm run bench`).
// In interactive mode nft prints a command's JSON as one line on stdout, or
// "Error: …" and two caret lines on stderr; requests go one at a time.
//
// OpenWrt builds nft without the interactive CLI ("interactive CLI not
// supported in this build", exit 1): there every request runs its own
// `nft -j <command>` instead, so the readings work on every build.

import type { ChildProcess } from 'node:child_process';
import { LineSplitter } from '../util/line-splitter';
import { runCommand, startChild } from './run-command';

export type NftAnswer = { ok: true; stdout: string } | { ok: false; error: string };

/** Time to let the rest of an error message arrive after its first line. */
const ERROR_SETTLE_MS = 30;
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** What an nft built without libreadline/linenoise prints for -i. */
const NO_CLI = /interactive CLI not supported/i;

export class NftSession {
  private child?: ChildProcess;
  private pending?: {
    resolve: (a: NftAnswer) => void;
    timer: NodeJS.Timeout;
    stderr: string;
    settle?: NodeJS.Timeout;
  };
  private queue: Promise<unknown> = Promise.resolve();
  /** False once nft said it has no interactive CLI: each request is then one nft process. */
  private interactive = true;

  constructor(private readonly command: string) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** 'session' (one nft -i) or 'per-request' (this nft has no interactive CLI). */
  get way(): 'session' | 'per-request' {
    return this.interactive ? 'session' : 'per-request';
  }

  /** Runs one command line (e.g. "list table inet replyguard"); never throws. */
  request(line: string, timeoutMs = 5000): Promise<NftAnswer> {
    const run = this.queue.then(() => this.answer(line, timeoutMs));
    this.queue = run;
    return run;
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.stdin?.end();
      child.kill('SIGTERM');
    }
    this.finish({ ok: false, error: 'nft session closed' });
  }

  private async answer(line: string, timeoutMs: number): Promise<NftAnswer> {
    if (this.interactive) {
      const a = await this.send(line, timeoutMs);
      if (a.ok || !NO_CLI.test(a.error)) return a;
      this.interactive = false;
    }
    return this.once(line, timeoutMs);
  }

  /** One `nft -j <words of line>`; the lines are replyguard's own commands, words split on blanks. */
  private async once(line: string, timeoutMs: number): Promise<NftAnswer> {
    const words = line.trim().split(/\s+/);
    const r = await runCommand([this.command, '-j', ...words], { timeoutMs, maxBytes: MAX_ANSWER_BYTES });
    if (r.error) return { ok: false, error: r.error };
    if (r.code !== 0) return { ok: false, error: r.stderr.trim() || `nft exited (code ${r.code ?? r.signal})` };
    return { ok: true, stdout: r.stdout };
  }

  private send(line: string, timeoutMs: number): Promise<NftAnswer> {
    return new Promise((resolve) => {
      const child = this.child ?? this.launch();
      const timer = setTimeout(() => {
        this.finish({ ok: false, error: `nft did not answer within ${timeoutMs} ms` });
        // A session that hangs is replaced by the next request.
        this.child?.kill('SIGKILL');
        this.child = undefined;
      }, timeoutMs);
      this.pending = { resolve, timer, stderr: '' };
      if (!child.stdin?.writable) {
        this.finish({ ok: false, error: 'nft session is not running' });
        return;
      }
      child.stdin.write(`${line}\n`);
    });
  }

  private launch(): ChildProcess {
    const child = startChild([this.command, '-j', '-i'], { stdin: 'pipe' });
    this.child = child;
    child.stdin!.on('error', () => {}); // EPIPE after nft exited; the exit handler answers
    child.stdout!.pipe(new LineSplitter((l) => this.onStdout(l), MAX_ANSWER_BYTES));
    child.stderr!.on('data', (b: Buffer) => this.onStderr(b.toString('utf8')));
    const gone = (why: string) => {
      if (this.child === child) this.child = undefined;
      // What nft said before it went (e.g. that it has no interactive CLI) is the better reason.
      this.finish({ ok: false, error: this.pending?.stderr.trim() || why });
    };
    child.on('error', (e) => gone(`cannot run ${this.command}: ${e.message}`));
    // 'close', not 'exit': stderr has been read to its end by then.
    child.on('close', (code, signal) => gone(`nft exited (${signal ?? `code ${code}`})`));
    return child;
  }

  private onStdout(line: string): void {
    if (line.trim() === '') return;
    this.finish({ ok: true, stdout: line });
  }

  private onStderr(text: string): void {
    const p = this.pending;
    if (!p) return;
    if (p.stderr.length < 4096) p.stderr += text;
    clearTimeout(p.settle);
    p.settle = setTimeout(() => this.finish({ ok: false, error: p.stderr.trim() }), ERROR_SETTLE_MS);
  }

  private finish(answer: NftAnswer): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    clearTimeout(p.settle);
    p.resolve(answer);
  }
}
