// Owns `conntrack -E`: starts it, restarts it with backoff when it exits, reads
// its stderr for lost events, and takes a `conntrack -L` snapshot at start and
// after any loss so that the detector sees flows it would otherwise miss.

import { type ChildProcess, spawn } from 'node:child_process';
import type { CtEntry } from '../conntrack/conntrack-entry';
import { parseConntrackLine } from '../conntrack/conntrack-line';
import { type LineInterest, mayMatter } from '../conntrack/line-prefilter';
import type { ConntrackSensorStatus } from '../status/status-document';
import { ByteLineSplitter } from '../util/byte-line-splitter';
import { GcHint } from '../util/gc-hint';
import { LineSplitter } from '../util/line-splitter';
import type { Logger } from '../util/log';

export interface ConntrackSensorOptions {
  command: string;
  bufferBytes: number;
  log: Logger;
  onEntry: (entry: CtEntry, raw: string, receivedAt: number) => void;
  /** What the consumer cares about: other lines are counted, not decoded or parsed. */
  interest?: LineInterest;
  onStatus: () => void;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A child that ran this long was healthy: the next restart starts from the minimum backoff again. */
const STABLE_MS = 30_000;
const SNAPSHOT_TIMEOUT_MS = 30_000;
/** What conntrack prints after each "WARNING: We have hit ENOBUFS!" line. */
const ENOBUFS_EXPLANATION = [
  'This message means that the current netlink socket buffer size is too small',
  'Please, check --buffer-size in conntrack(8) manpage',
];
/** Several ENOBUFS warnings in a row lead to one resync. */
const RESYNC_DELAY_MS = 200;

export class ConntrackSensor {
  readonly status: ConntrackSensorStatus = {
    state: 'stopped',
    events: 0,
    lost: 0,
    resyncs: 0,
    restarts: 0,
    parse_errors: 0,
  };
  private child?: ChildProcess;
  private snapshotChild?: ChildProcess;
  private restartTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private backoffMs = BACKOFF_MIN_MS;
  private startedAt = 0;
  private stopping = false;
  private resyncWanted = false;
  private lastParseErrorLogged = 0;
  private lastLossLogged = Number.NEGATIVE_INFINITY;
  private lossesNotLogged = 0;
  private readonly gcHint = new GcHint();

  constructor(private readonly opts: ConntrackSensorOptions) {}

  start(): void {
    this.stopping = false;
    this.status.state = 'starting';
    this.launch();
  }

  stop(): void {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.resyncTimer);
    this.child?.kill('SIGTERM');
    this.snapshotChild?.kill('SIGTERM');
    this.status.state = 'stopped';
  }

  /** Pids of the children, so that the daemon can kill them even on a hard exit. */
  childPids(): number[] {
    return [this.child?.pid, this.snapshotChild?.pid].filter((p): p is number => p !== undefined);
  }

  private launch(): void {
    const args = ['-E', '-e', 'NEW,DESTROY', '-o', 'extended,id,timestamp', '-b', String(this.opts.bufferBytes)];
    const child = spawn(this.opts.command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.startedAt = Date.now();
    let spawnError: string | undefined;
    child.once('spawn', () => {
      this.status.state = 'running';
      this.status.pid = child.pid;
      this.status.since = new Date().toISOString();
      this.opts.log.info(`conntrack sensor: started ${this.opts.command} ${args.join(' ')} (pid ${child.pid})`);
      this.opts.onStatus();
      // Events flow from now on; the snapshot covers what existed before.
      this.requestResync(0);
    });
    child.on('error', (err) => {
      spawnError = `cannot run ${this.opts.command}: ${err.message}`;
    });
    child.stdout!.on('data', (chunk: Buffer) => this.gcHint.read(chunk.length));
    child.stdout!.pipe(new ByteLineSplitter((buf, start, end) => this.onEventBytes(buf, start, end)));
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
      this.opts.log.warn(`conntrack sensor: ${this.opts.command} ${why}; restarting in ${this.backoffMs} ms`);
      this.opts.onStatus();
      this.restartTimer = setTimeout(() => {
        this.status.restarts++;
        this.launch();
      }, this.backoffMs);
      this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    });
  }

  private onEventBytes(buf: Buffer, start: number, end: number): void {
    if (this.opts.interest && !mayMatter(buf, start, end, this.opts.interest)) {
      this.status.events++;
      return;
    }
    this.onEventLine(buf.toString('utf8', start, end));
  }

  private onEventLine(line: string): void {
    const result = parseConntrackLine(line);
    if ('skip' in result) return;
    if ('error' in result) {
      this.status.parse_errors++;
      this.noteParseError(line, result.error);
      return;
    }
    this.status.events++;
    const at = result.entry.timestamp !== undefined ? result.entry.timestamp * 1000 : Date.now();
    this.opts.onEntry(result.entry, line, at);
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
    this.opts.log.warn(`conntrack sensor: the kernel dropped conntrack events (ENOBUFS); resyncing${more}`);
  }

  private noteParseError(line: string, error: string): void {
    // One log line per minute at most: a flood of bad lines must not flood the log.
    const now = Date.now();
    if (now - this.lastParseErrorLogged < 60_000) return;
    this.lastParseErrorLogged = now;
    this.opts.log.warn(`conntrack sensor: cannot read line (${error}): ${line.slice(0, 200)}`);
  }

  private onStderrLine(line: string): void {
    if (line.includes('ENOBUFS')) {
      this.status.lost++;
      this.status.last_loss = new Date().toISOString();
      this.noteLoss();
      this.opts.onStatus();
      this.requestResync(RESYNC_DELAY_MS);
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

  /** Reads the whole table again (after a loss, a restart, or when asked). */
  resync(): void {
    this.requestResync(0);
  }

  private requestResync(delayMs: number): void {
    if (this.resyncTimer) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      this.snapshot();
    }, delayMs);
  }

  /** Reads the whole table once; entries reach the detector as SNAPSHOT events. */
  private snapshot(): void {
    if (this.stopping) return;
    if (this.snapshotChild) {
      this.resyncWanted = true;
      return;
    }
    const child = spawn(this.opts.command, ['-L', '-o', 'extended,id'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.snapshotChild = child;
    const timer = setTimeout(() => child.kill('SIGKILL'), SNAPSHOT_TIMEOUT_MS);
    let errText = '';
    child.on('error', (err) => {
      errText = err.message;
    });
    // Snapshot lines are judged as NEW lines are, so the same pre-filter applies. In a flood every loss brings a
    // resync of a table of 100k+ entries; decoding and parsing each line added ~10 MB to the peak RSS.
    child.stdout!.pipe(
      new ByteLineSplitter((buf, start, end) => {
        if (this.opts.interest && !mayMatter(buf, start, end, this.opts.interest)) return;
        this.onSnapshotLine(buf.toString('utf8', start, end));
      }),
    );
    child.stderr!.on('data', (b: Buffer) => {
      if (errText.length < 1000) errText += b.toString('utf8');
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      this.snapshotChild = undefined;
      if (this.stopping) return;
      if (code === 0) {
        this.status.resyncs++;
        this.opts.onStatus();
      } else {
        this.opts.log.warn(`conntrack sensor: snapshot failed (${errText.trim() || `code ${code}`})`);
      }
      if (this.resyncWanted) {
        this.resyncWanted = false;
        this.requestResync(RESYNC_DELAY_MS);
      }
    });
  }

  private onSnapshotLine(line: string): void {
    const result = parseConntrackLine(line);
    if (!('entry' in result)) return;
    this.opts.onEntry(result.entry, line, Date.now());
  }
}
