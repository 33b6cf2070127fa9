// NEW and DESTROY events come through two pipes with no order between them. A
// hijacked entry lives microseconds (the proxy resets the connection), so its
// DESTROY line is often read before its NEW line; at that moment nobody tracks
// the flow and the line pre-filter drops it. This remembers the conntrack id
// and time of recent DESTROY lines — cheaply, from their bytes — so that the
// NEW event can be followed by its DESTROY when it arrives second.

/**
 * Ids of recent DESTROY events with their times: a direct-mapped cache in typed arrays (slot = id mod
 * size; conntrack ids are hashes, so they spread), because every DESTROY line passes through `noteLine`
 * and must allocate nothing — a Map of boxed numbers grew the young generation by ~15 MB in the 1M-event
 * replay. A collision forgets the older entry: what is lost is a lifetime, nothing more. Ages compare
 * conntrack's own timestamps (no clock read per line): a DESTROY counts for a NEW stamped within
 * `maxAgeMs` of it.
 */
export class EarlyDestroys {
  private readonly ids: Uint32Array;
  private readonly destroyedAt: Float64Array;
  private readonly mask: number;
  private used = 0;

  constructor(
    slotsLog2 = 12,
    private readonly maxAgeMs = 5000,
  ) {
    const n = 1 << slotsLog2;
    this.mask = n - 1;
    this.ids = new Uint32Array(n);
    this.destroyedAt = new Float64Array(n).fill(Number.NaN);
  }

  /** Whether anything is noted at all (a quick test before a lookup). */
  get empty(): boolean {
    return this.used === 0;
  }

  /**
   * Notes the id and timestamp of a DESTROY line; a line without either is ignored, and so is an
   * `[ASSURED]` entry: it saw traffic both ways, which the replies this is for (seen one way only,
   * the other way runs past this router) never do. Most DESTROYs of a busy router are such entries.
   * One function on purpose: it runs for every DESTROY line, and a helper returning a double (an id
   * beyond 2^31, a time) boxes it when not inlined — that cost ~60 ns a line in the 1M-event replay.
   */
  noteLine(buf: Uint8Array, start: number, end: number): void {
    // The id: digits after "id=" at the end of the line.
    let j = end;
    while (j > start && (buf[j - 1] === 32 || buf[j - 1] === 9 || buf[j - 1] === 13)) j--;
    let id = 0;
    let scale = 1;
    let digits = 0;
    while (j > start && buf[j - 1]! >= 48 && buf[j - 1]! <= 57 && digits < 10) {
      id += (buf[j - 1]! - 48) * scale;
      scale *= 10;
      digits++;
      j--;
    }
    if (digits === 0 || j - 4 < start || buf[j - 1] !== 61 || buf[j - 2] !== 100 || buf[j - 3] !== 105) return;
    if (buf[j - 4] !== 32 && buf[j - 4] !== 9) return;
    if (id > 0xffffffff) return;
    // "[ASSURED]" right before it: traffic both ways.
    let k = j - 4;
    while (k > start && (buf[k - 1] === 32 || buf[k - 1] === 9)) k--;
    if (k - 9 >= start && buf[k - 1] === 93 && buf[k - 9] === 91 && buf[k - 8] === 65 /* [A */) return;
    // The time: "[sec.usec]" at the start.
    if (buf[start] !== 91) return;
    let i = start + 1;
    let sec = 0;
    while (i < end && buf[i]! >= 48 && buf[i]! <= 57) sec = sec * 10 + (buf[i++]! - 48);
    if (i === start + 1 || buf[i] !== 46) return;
    let frac = 0;
    let fracScale = 1;
    for (i++; i < end && buf[i]! >= 48 && buf[i]! <= 57 && fracScale < 1e6; i++) {
      frac = frac * 10 + (buf[i]! - 48);
      fracScale *= 10;
    }
    this.note(id, sec * 1000 + (frac / fracScale) * 1000);
  }

  note(id: number, atMs: number): void {
    const slot = id & this.mask;
    if (Number.isNaN(this.destroyedAt[slot])) this.used++;
    this.ids[slot] = id;
    this.destroyedAt[slot] = atMs;
  }

  /** When the entry `id`, which appeared at `newAtMs`, was destroyed, if that was noted (and forgets it). */
  take(id: number, newAtMs: number): number | undefined {
    const slot = id & this.mask;
    const at = this.destroyedAt[slot]!;
    if (this.ids[slot] !== id || Number.isNaN(at)) return undefined;
    this.destroyedAt[slot] = Number.NaN;
    this.used--;
    return Math.abs(at - newAtMs) <= this.maxAgeMs ? at : undefined;
  }
}
