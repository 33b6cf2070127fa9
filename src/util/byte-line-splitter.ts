// Cuts a byte stream into lines without decoding them: the callback gets the
// chunk and the line's byte range, and decodes only what it keeps. On a busy
// router most conntrack lines are dropped after a glance at a few bytes, so
// not turning them into strings is where the time goes (see `npm run bench`).
// Piped into from a child's stdout, it gives backpressure like LineSplitter.

import { Writable } from 'node:stream';

export type ByteLineHandler = (buf: Buffer, start: number, end: number) => void;
/**
 * Takes the lines of buf from `start` on at once, finding their ends itself, and returns where it stopped:
 * at the start of a line it left to the splitter. buf ends with a newline (the chunk's unfinished last line
 * is not in it), so that a reader may look for a line's end without checking a bound.
 */
export type ByteLinesHandler = (buf: Buffer, start: number) => number;

export class ByteLineSplitter extends Writable {
  /** The unfinished last line of the previous chunk. */
  private carry: Buffer | undefined;
  private dropping = false;
  /** Lines longer than maxLine: dropped whole, counted here. */
  overlong = 0;

  constructor(
    private readonly onLine: ByteLineHandler,
    private readonly maxLine = 8192,
    private readonly onLines?: ByteLinesHandler,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    let start = 0;
    let nl = chunk.indexOf(10);
    if (nl >= 0 && (this.carry || this.dropping)) {
      this.finishCarried(chunk.subarray(0, nl));
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    // The chunk up to its last newline, for the bulk handler.
    let whole: Buffer | undefined;
    for (; nl >= 0; nl = chunk.indexOf(10, start)) {
      if (this.onLines && nl - start <= this.maxLine) {
        whole ??= chunk.subarray(0, chunk.lastIndexOf(10) + 1);
        // The bulk handler cuts on from this whole line; the line it stops at is this loop's to hand on (not
        // the bulk handler's to read a second time).
        const stop = this.onLines(whole, start);
        if (stop > start) {
          start = stop;
          if (start >= whole.length) break;
          nl = chunk.indexOf(10, start);
        }
      }
      if (nl - start > this.maxLine) this.overlong++;
      else this.onLine(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.carry && !this.dropping) this.onLine(this.carry, 0, this.carry.length);
    this.carry = undefined;
    done();
  }

  private finishCarried(tail: Buffer): void {
    if (this.dropping) {
      this.dropping = false;
      this.carry = undefined;
      return;
    }
    const line = Buffer.concat([this.carry!, tail]);
    this.carry = undefined;
    if (line.length > this.maxLine) this.overlong++;
    else this.onLine(line, 0, line.length);
  }

  private keep(rest: Buffer): void {
    if (this.dropping) return;
    // Copied: the chunk's memory is reused by the stream once we return.
    this.carry = this.carry ? Buffer.concat([this.carry, rest]) : Buffer.from(rest);
    // Bounded: a line that never ends must not grow without limit.
    if (this.carry.length > this.maxLine) {
      this.carry = undefined;
      this.dropping = true;
      this.overlong++;
    }
  }
}
