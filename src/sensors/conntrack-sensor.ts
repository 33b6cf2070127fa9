// Watches conntrack: a NEW event stream (what detection needs), a DESTROY
// event stream (only how long a hijacked entry lived), and a `conntrack -L`
// snapshot at start and after any loss of NEW events, so that the detector
// sees flows it would otherwise miss. Each stream is its own child: see
// conntrack-event-stream.ts for why.

import { type ChildProcess, spawn } from 'node:child_process';
import type { CtEntry } from '../conntrack/conntrack-entry';
import { parseConntrackLine } from '../conntrack/conntrack-line';
import { EarlyDestroys, lineIdOf, lineTimeMsOf } from '../conntrack/early-destroys';
import { type LineInterest, mayMatter } from '../conntrack/line-prefilter';
import type { ConntrackSensorStatus } from '../status/status-document';
import { ByteLineSplitter } from '../util/byte-line-splitter';
import type { Logger } from '../util/log';
import { type ConntrackEventKind, ConntrackEventStream } from './conntrack-event-stream';

export interface ConntrackSensorOptions {
  command: string;
  bufferBytes: number;
  log: Logger;
  onEntry: (entry: CtEntry, raw: string, receivedAt: number) => void;
  /** What the consumer cares about: other lines are counted, not decoded or parsed. */
  interest?: LineInterest;
  onStatus: () => void;
}

const SNAPSHOT_TIMEOUT_MS = 30_000;
/** Several ENOBUFS warnings in a row lead to one resync. */
const RESYNC_DELAY_MS = 200;

export class ConntrackSensor {
  private readonly counts = { events: 0, resyncs: 0, parse_errors: 0, destroy_events: 0 };
  private readonly newStream: ConntrackEventStream;
  private readonly destroyStream: ConntrackEventStream;
  private snapshotChild?: ChildProcess;
  private resyncTimer?: NodeJS.Timeout;
  private stopping = false;
  private resyncWanted = false;
  private lastParseErrorLogged = 0;
  private readonly earlyDestroys = new EarlyDestroys();

  constructor(private readonly opts: ConntrackSensorOptions) {
    const stream = (events: ConntrackEventKind, onLoss: () => void) =>
      new ConntrackEventStream({
        command: opts.command,
        events,
        bufferBytes: opts.bufferBytes,
        log: opts.log,
        onLine: (buf, start, end) => this.onEventBytes(events, buf, start, end),
        // Events flow from now on; the snapshot covers what existed before.
        onRunning: events === 'NEW' ? () => this.requestResync(0) : () => {},
        onLoss,
        onStatus: opts.onStatus,
      });
    this.newStream = stream('NEW', () => this.requestResync(RESYNC_DELAY_MS));
    // A lost DESTROY costs a lifetime in a finding's text, nothing a resync could bring back.
    this.destroyStream = stream('DESTROY', () => {});
  }

  /** The NEW stream's state is the sensor's: it is what detection rests on. */
  get status(): ConntrackSensorStatus {
    const n = this.newStream.status;
    const d = this.destroyStream.status;
    return {
      ...n,
      events: this.counts.events,
      resyncs: this.counts.resyncs,
      parse_errors: this.counts.parse_errors,
      destroy: {
        state: d.state,
        ...(d.pid !== undefined ? { pid: d.pid } : {}),
        events: this.counts.destroy_events,
        lost: d.lost,
        restarts: d.restarts,
        ...(d.last_error !== undefined ? { last_error: d.last_error } : {}),
      },
    };
  }

  start(): void {
    this.stopping = false;
    this.newStream.start();
    this.destroyStream.start();
  }

  stop(): void {
    this.stopping = true;
    clearTimeout(this.resyncTimer);
    this.newStream.stop();
    this.destroyStream.stop();
    this.snapshotChild?.kill('SIGTERM');
  }

  /** Pids of the children, so that the daemon can kill them even on a hard exit. */
  childPids(): number[] {
    return [this.newStream.pid(), this.destroyStream.pid(), this.snapshotChild?.pid].filter(
      (p): p is number => p !== undefined,
    );
  }

  private onEventBytes(stream: ConntrackEventKind, buf: Buffer, start: number, end: number): void {
    if (stream === 'DESTROY') {
      this.counts.destroy_events++;
      const id = lineIdOf(buf, start, end);
      if (id >= 0) {
        const now = Date.now();
        const at = lineTimeMsOf(buf, start, end);
        this.earlyDestroys.note(id, Number.isNaN(at) ? now : at, now);
      }
    }
    if (this.opts.interest && !mayMatter(buf, start, end, this.opts.interest)) {
      if (stream === 'NEW') this.counts.events++;
      return;
    }
    const line = buf.toString('utf8', start, end);
    const result = parseConntrackLine(line);
    if ('skip' in result) return;
    if ('error' in result) {
      this.counts.parse_errors++;
      this.noteParseError(line, result.error);
      return;
    }
    // Each stream delivers only its kind; anything else would be counted twice.
    const kind = result.entry.event === 'DESTROY' ? 'DESTROY' : 'NEW';
    if (kind !== stream) return;
    if (stream === 'NEW') this.counts.events++;
    const at = result.entry.timestamp !== undefined ? result.entry.timestamp * 1000 : Date.now();
    this.opts.onEntry(result.entry, line, at);
    if (stream === 'NEW' && result.entry.id !== undefined && !this.earlyDestroys.empty) {
      // Its DESTROY came through the other pipe first.
      const gone = this.earlyDestroys.take(result.entry.id, Date.now());
      if (gone !== undefined)
        this.opts.onEntry({ ...result.entry, event: 'DESTROY', timestamp: gone / 1000 }, line, Math.max(gone, at));
    }
  }

  private noteParseError(line: string, error: string): void {
    // One log line per minute at most: a flood of bad lines must not flood the log.
    const now = Date.now();
    if (now - this.lastParseErrorLogged < 60_000) return;
    this.lastParseErrorLogged = now;
    this.opts.log.warn(`conntrack sensor: cannot read line (${error}): ${line.slice(0, 200)}`);
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
        this.counts.resyncs++;
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
