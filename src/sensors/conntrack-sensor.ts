// Watches conntrack: a NEW event stream (what detection needs), a DESTROY
// event stream (only how long a hijacked entry lived), and a `conntrack -L`
// snapshot at start and after any loss of NEW events, so that the detector
// sees flows it would otherwise miss. Each stream is its own child: see
// conntrack-event-stream.ts for why.

import type { ChildProcess } from 'node:child_process';
import type { CtEntry } from '../conntrack/conntrack-entry';
import { parseConntrackLine } from '../conntrack/conntrack-line';
import { EventLineReader, type EventStreamKind } from '../conntrack/event-line-reader';
import { type LineInterest, mayMatter } from '../conntrack/line-prefilter';
import type { ConntrackSensorStatus } from '../status/status-schema';
import type { Logger } from '../system/log';
import { startChild } from '../system/run-command';
import type { Unit } from '../system/unit';
import { ByteLineSplitter } from '../util/byte-line-splitter';
import { ConntrackEventStream } from './conntrack-event-stream';

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

export class ConntrackSensor implements Unit<ConntrackSensorStatus> {
  readonly name = 'conntrack';
  private resyncs = 0;
  private readonly reader: EventLineReader;
  private readonly newStream: ConntrackEventStream;
  private readonly destroyStream: ConntrackEventStream;
  private snapshotChild?: ChildProcess;
  private resyncTimer?: NodeJS.Timeout;
  private stopping = false;
  private resyncWanted = false;
  private lastParseErrorLogged = 0;

  constructor(private readonly opts: ConntrackSensorOptions) {
    this.reader = new EventLineReader({
      ...(opts.interest ? { interest: opts.interest } : {}),
      onEntry: opts.onEntry,
      onParseError: (line, error) => this.noteParseError(line, error),
    });
    const stream = (events: EventStreamKind, onLoss: () => void) =>
      new ConntrackEventStream({
        command: opts.command,
        events,
        bufferBytes: opts.bufferBytes,
        log: opts.log,
        onLine: (buf, start, end) => this.reader.read(events, buf, start, end),
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
  status(): ConntrackSensorStatus {
    const n = this.newStream.status;
    const d = this.destroyStream.status;
    return {
      ...n,
      events: this.reader.counts.events,
      resyncs: this.resyncs,
      parse_errors: this.reader.counts.parseErrors,
      destroy: {
        state: d.state,
        ...(d.pid !== undefined ? { pid: d.pid } : {}),
        events: this.reader.counts.destroyEvents,
        lost: d.lost,
        restarts: d.restarts,
        ...(d.last_error !== undefined ? { last_error: d.last_error } : {}),
      },
    };
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.newStream.start();
    this.destroyStream.start();
  }

  async stop(): Promise<void> {
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
    const child = startChild([this.opts.command, '-L', '-o', 'extended,id'], { timeoutMs: SNAPSHOT_TIMEOUT_MS });
    this.snapshotChild = child;
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
      this.snapshotChild = undefined;
      if (this.stopping) return;
      if (code === 0) {
        this.resyncs++;
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
