// The flows a capture has shown so far, as their two 30-bit hashes (see
// conntrack-glance.ts), to tell which flows began before it. Every line of a
// capture asks, so this is one flat typed array (linear probing, deletion by
// backward shift: no tombstones pile up): a lookup touches one cache line and
// allocates nothing, where a Map of a hundred thousand flows cost a cache miss
// or two per line. Bounded: past `cap` flows, an older one is forgotten.

export class FlowSightings {
  /** Pairs [flow + 1, check]; 0 marks an empty slot. Grows with the flows (a small table stays in cache). */
  private slots: Int32Array;
  private mask: number;
  private readonly maxSize: number;
  private count = 0;
  /** Where the next forced eviction looks first. */
  private hand = 0;
  /** Flows forgotten to stay within the cap. */
  forgotten = 0;

  constructor(readonly cap: number) {
    let size = 16;
    while (size < cap * 2) size *= 2; // at most half full: short probe runs
    this.maxSize = size;
    this.slots = new Int32Array(Math.min(size, 64) * 2);
    this.mask = Math.min(size, 64) - 1;
  }

  get size(): number {
    return this.count;
  }

  has(flow: number, check: number): boolean {
    return this.find(flow, check) >= 0;
  }

  /** Adds a flow not yet present. */
  add(flow: number, check: number): void {
    if (this.count >= this.cap) this.evictOne();
    else if (this.count * 2 >= this.mask + 1 && this.mask + 1 < this.maxSize) this.grow();
    const s = this.slots;
    let i = flow & this.mask;
    while (s[i * 2] !== 0) i = (i + 1) & this.mask;
    s[i * 2] = flow + 1;
    s[i * 2 + 1] = check;
    this.count++;
  }

  /**
   * A line of the flow, in one probe: true when the flow was seen before. A flow seen before is forgotten
   * when `ends` (its DESTROY); one not seen before is added unless `ends`.
   */
  sight(flow: number, check: number, ends: boolean): boolean {
    const s = this.slots;
    const key = flow + 1;
    let i = flow & this.mask;
    for (;;) {
      const k = s[i * 2]!;
      if (k === 0) break;
      if (k === key && s[i * 2 + 1] === check) {
        if (ends) this.removeAt(i);
        return true;
      }
      i = (i + 1) & this.mask;
    }
    if (ends) return false;
    if (this.count >= this.cap || (this.count * 2 >= this.mask + 1 && this.mask + 1 < this.maxSize)) {
      this.add(flow, check); // makes room first, then probes again
      return false;
    }
    s[i * 2] = key;
    s[i * 2 + 1] = check;
    this.count++;
    return false;
  }

  delete(flow: number, check: number): boolean {
    const i = this.find(flow, check);
    if (i < 0) return false;
    this.removeAt(i);
    return true;
  }

  private find(flow: number, check: number): number {
    const s = this.slots;
    const key = flow + 1;
    for (let i = flow & this.mask; ; i = (i + 1) & this.mask) {
      const k = s[i * 2]!;
      if (k === 0) return -1;
      if (k === key && s[i * 2 + 1] === check) return i;
    }
  }

  private grow(): void {
    const old = this.slots;
    const size = (this.mask + 1) * 2;
    this.slots = new Int32Array(size * 2);
    this.mask = size - 1;
    const s = this.slots;
    for (let j = 0; j < old.length; j += 2) {
      const key = old[j]!;
      if (key === 0) continue;
      let i = (key - 1) & this.mask;
      while (s[i * 2] !== 0) i = (i + 1) & this.mask;
      s[i * 2] = key;
      s[i * 2 + 1] = old[j + 1]!;
    }
    this.hand = 0;
  }

  private evictOne(): void {
    const s = this.slots;
    while (s[this.hand * 2] === 0) this.hand = (this.hand + 1) & this.mask;
    this.removeAt(this.hand);
    this.forgotten++;
  }

  /** Empties slot i and moves later entries of its probe run back, so that every lookup still finds them. */
  private removeAt(at: number): void {
    const s = this.slots;
    const mask = this.mask;
    let i = at;
    for (let j = (i + 1) & mask; s[j * 2] !== 0; j = (j + 1) & mask) {
      const home = (s[j * 2]! - 1) & mask;
      // The entry at j may move to i only if its home is not cyclically within (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      s[i * 2] = s[j * 2]!;
      s[i * 2 + 1] = s[j * 2 + 1]!;
      i = j;
    }
    s[i * 2] = 0;
    s[i * 2 + 1] = 0;
    this.count--;
  }
}
