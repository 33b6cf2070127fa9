// Reading a fast stream leaves many 64 KB chunk buffers behind. They live
// outside the JS heap, so V8 collects them only when external memory has grown
// by tens of MB — on a router that is the whole budget. A minor collection after
// every few MB read keeps the peak low and costs about a millisecond.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options?: { type?: 'major' | 'minor'; execution?: 'sync' }) => void;

let collect: Collect | null | undefined;

function collector(): Collect | null {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as Collect;
    } catch {
      collect = null;
    }
  }
  return collect;
}

/** Counts bytes read; asks for a minor collection every `everyBytes`. */
export class GcHint {
  private since = 0;
  constructor(private readonly everyBytes = 2 * 1024 * 1024) {}

  read(bytes: number): void {
    this.since += bytes;
    if (this.since < this.everyBytes) return;
    this.since = 0;
    collector()?.({ type: 'minor' });
  }
}
