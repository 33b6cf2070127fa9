// A Writable that cuts a byte stream into lines and hands each to a callback
// synchronously. Piping a child's stdout into it gives backpressure for free:
// the next chunk is read only after this one's lines were handled.

import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export class LineSplitter extends Writable {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  private dropping = false;
  /** Lines longer than maxLine: dropped whole, counted here. */
  overlong = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 8192,
  ) {
    super({ decodeStrings: true });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.push(this.decoder.write(chunk));
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.push(this.decoder.end());
    if (this.rest !== '' && !this.dropping) this.onLine(this.rest);
    this.rest = '';
    done();
  }

  private push(text: string): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.dropping) {
        this.dropping = false;
        continue;
      }
      const line = this.rest === '' ? piece : this.rest + piece;
      this.rest = '';
      if (line.length > this.maxLine) this.overlong++;
      else this.onLine(line);
    }
    if (start < text.length) {
      if (this.dropping) return;
      this.rest += text.slice(start);
      // Bounded: a line that never ends must not grow without limit.
      if (this.rest.length > this.maxLine) {
        this.rest = '';
        this.dropping = true;
        this.overlong++;
      }
    }
  }
}
