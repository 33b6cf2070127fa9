// What the daemon does with one line of `conntrack -E` output, per stream
// (NEW or DESTROY child), without any I/O: the cheap pre-filter on the bytes,
// decoding and parsing only what may matter, counting, and following a NEW
// with its DESTROY when that came first through the other pipe. The sensor
// feeds it from the children; the bench feeds it a replay.

import type { CtEntry } from './conntrack-entry';
import { parseConntrackLine } from './conntrack-line';
import { EarlyDestroys } from './early-destroys';
import { type LineInterest, mayMatter } from './line-prefilter';

export type EventStreamKind = 'NEW' | 'DESTROY';

export interface EventLineReaderOptions {
  /** What the consumer cares about: other lines are counted, not decoded or parsed. */
  interest?: LineInterest;
  onEntry: (entry: CtEntry, raw: string, at: number) => void;
  onParseError: (line: string, error: string) => void;
  /** The wall clock (ms); a parameter so that a replay can fix it. */
  now?: () => number;
}

export class EventLineReader {
  readonly counts = { events: 0, destroyEvents: 0, parseErrors: 0 };
  private readonly early = new EarlyDestroys();
  private readonly now: () => number;

  constructor(private readonly opts: EventLineReaderOptions) {
    this.now = opts.now ?? Date.now;
  }

  read(stream: EventStreamKind, buf: Buffer, start: number, end: number): void {
    if (stream === 'DESTROY') {
      this.counts.destroyEvents++;
      this.early.noteLine(buf, start, end);
    }
    if (this.opts.interest && !mayMatter(buf, start, end, this.opts.interest)) {
      if (stream === 'NEW') this.counts.events++;
      return;
    }
    const line = buf.toString('utf8', start, end);
    const result = parseConntrackLine(line);
    if ('skip' in result) return;
    if ('error' in result) {
      this.counts.parseErrors++;
      this.opts.onParseError(line, result.error);
      return;
    }
    // Each stream delivers only its kind; anything else would be counted twice.
    const kind = result.entry.event === 'DESTROY' ? 'DESTROY' : 'NEW';
    if (kind !== stream) return;
    if (stream === 'NEW') this.counts.events++;
    const at = result.entry.timestamp !== undefined ? result.entry.timestamp * 1000 : this.now();
    this.opts.onEntry(result.entry, line, at);
    if (stream === 'NEW' && result.entry.id !== undefined && !this.early.empty) {
      // Its DESTROY came through the other pipe first.
      const gone = this.early.take(result.entry.id, at);
      if (gone !== undefined)
        this.opts.onEntry({ ...result.entry, event: 'DESTROY', timestamp: gone / 1000 }, line, Math.max(gone, at));
    }
  }
}
