// Owns one `conntrack -E -e <events>` child: starts it, restarts it with
// backoff when it exits, splits its output into lines and reads its stderr for
// lost events (ENOBUFS). What the lines mean is the caller's business.
//
// Why one child per event kind: `-e` picks the kernel's netlink groups, so a
// NEW-only socket never receives the DESTROY bursts of the conntrack garbage
// collector. conntrack-tools 1.4.7 and later (OpenWrt 23.05, 24.10) apply
// `-b/--buffer-size` to their query socket, not to the event socket, so the
// event socket keeps the kernel default (net.core.rmem_default, ~208 KB):
// a burst of a few hundred DESTROY events then overflows it, and with one
// shared socket the NEW events of the same moment were lost with them.

import type { ChildProcess } from 'node:child_process';
import type { EventStreamKind } from '../conntrack/event-line-reader';
import type { Logger } from '../system/log';
import { startChild } from '../system/run-command';
import { ByteLineSplitter } from '../util/byte-line-splitter';
import { GcHint } from '../util/gc-hint';
import { LineSplitter } from '../util/line-splitter';

export interface EventStreamStatus {
  state: 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';
  pid?: number;
  /** ENOBUFS warnings from conntrack: each one means at least one event was lost. */
  lost: number;
  last_loss?: string;
  restarts: number;
  last_error?: string;
  since?: string;
}

export interface ConntrackEventStreamOptions {
  command: string;
  events: EventStreamKind;
  bufferBytes: number;
  log: Logger;
  /** One line of stdout, as bytes: no copy or decode unless the caller wants it. */
  onLine: (buf: Buffer, start: number, end: number) => void;
  onRunning: () => void;
  onLoss: () => void;
  onStatus: () => void;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A child that ran this long was healthy: the next restart starts from the minimum backoff again. */
const STABLE_MS = 30_000;
/** What conntrack prints after each "WARNING: We have hit ENOBUFS!" line. */
const ENOBUFS_EXPLANATION = [
  'This message means that the current netlink socket buffer size is too small',
  'Please, check --buffer-size in conntrack(8) manpage',
];

export class ConntrackEventStream {
  readonly status: EventStreamStatus = { state: 'stopped', lost: 0, restarts: 0 };
  private child?: ChildProcess;
  private restartTimer?: NodeJS.Timeout;
  private backoffMs = BACKOFF_MIN_MS;
  private startedAt = 0;
  private stopping = false;
  private lastLossLogged = Number.NEGATIVE_INFINITY;
  private lossesNotLogged = 0;
  private readonly gcHint = new GcHint();

  constructor(private readonly opts: ConntrackEventStreamOptions) {}

  /** `-e NEW` and `-e DESTROY` as the log names them. */
  get label(): string {
    return `conntrack -E -e ${this.opts.events}`;
  }

  start(): void {
    this.stopping = false;
    this.status.state = 'starting';
    this.launch();
  }

  stop(): void {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.child?.kill('SIGTERM');
    this.status.state = 'stopped';
  }

  pid(): number | undefined {
    return this.child?.pid;
  }

  private launch(): void {
    const args = ['-E', '-e', this.opts.events, '-o', 'extended,id,timestamp', '-b', String(this.opts.bufferBytes)];
    const child = startChild([this.opts.command, ...args]);
    this.child = child;
    this.startedAt = Date.now();
    let spawnError: string | undefined;
    child.once('spawn', () => {
      this.status.state = 'running';
      this.status.pid = child.pid;
      this.status.since = new Date().toISOString();
      this.opts.log.info(`conntrack sensor: started ${this.opts.command} ${args.join(' ')} (pid ${child.pid})`);
      this.opts.onStatus();
      this.opts.onRunning();
    });
    child.on('error', (err) => {
      spawnError = `cannot run ${this.opts.command}: ${err.message}`;
    });
    child.stdout!.on('data', (chunk: Buffer) => this.gcHint.read(chunk.length));
    child.stdout!.pipe(new ByteLineSplitter(this.opts.onLine));
    child.stderr!.pipe(new LineSplitter((line) => this.onStderrLine(line)));
    child.on('close', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.status.pid = undefined;
      if (this.stopping) return;
      const ran = Date.now() - this.startedAt;
      const why = spawnError ?? `exited (${signal ?? `code ${code}`})`;
      this.status.last_error = why;
      this.status.state = spawnError ? 'failed' : 'restarting';
      if (ran >= STABLE_MS) this.backoffMs = BACKOFF_MIN_MS;
      this.opts.log.warn(
        `conntrack sensor: ${this.label}: ${this.opts.command} ${why}; restarting in ${this.backoffMs} ms`,
      );
      this.opts.onStatus();
      this.restartTimer = setTimeout(() => {
        this.status.restarts++;
        this.launch();
      }, this.backoffMs);
      this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    });
  }

  private onStderrLine(line: string): void {
    if (line.includes('ENOBUFS')) {
      this.status.lost++;
      this.status.last_loss = new Date().toISOString();
      this.noteLoss();
      this.opts.onStatus();
      this.opts.onLoss();
      return;
    }
    // conntrack explains every ENOBUFS warning with these two lines; they are no error of their own.
    if (ENOBUFS_EXPLANATION.some((text) => line.includes(text))) return;
    if (line.includes('flow events have been shown') || line.trim() === '') return;
    if (line.startsWith('NOTICE')) {
      this.opts.log.debug(`conntrack: ${line}`);
      return;
    }
    this.status.last_error = line.trim().slice(0, 300);
    this.opts.log.warn(`conntrack: ${this.status.last_error}`);
    this.opts.onStatus();
  }

  /**
   * A flood brings hundreds of ENOBUFS a second: the first is logged at once, later ones at most once a
   * minute, with how many there were meanwhile (status.json counts each one).
   */
  private noteLoss(): void {
    const now = Date.now();
    if (now - this.lastLossLogged < 60_000) {
      this.lossesNotLogged++;
      return;
    }
    const more = this.lossesNotLogged > 0 ? ` (and ${this.lossesNotLogged} more times since the last warning)` : '';
    this.lastLossLogged = now;
    this.lossesNotLogged = 0;
    const what =
      this.opts.events === 'NEW'
        ? 'the kernel dropped conntrack NEW events (ENOBUFS); resyncing'
        : 'the kernel dropped conntrack DESTROY events (ENOBUFS); only how long hijacked entries lived can be missing';
    this.opts.log.warn(`conntrack sensor: ${what}${more}`);
  }
}
