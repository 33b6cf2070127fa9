// A Map with a size cap: the least recently used key goes first, and evictions
// are counted so that status can say how much was forgotten.
//
// Eviction keeps one iterator over the keys. V8 leaves a deleted Map entry as a
// hole until the table is rebuilt, and a fresh iterator starts at the front, so
// `keys().next()` on every eviction walks all the holes that earlier evictions
// and refreshes left there: the cost per insert grew with the cap. An iterator
// that lives on walks each hole once.

export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  /** Walks the keys oldest first; everything it has passed was evicted or moved to the back. */
  private oldest: IterableIterator<K> | undefined;
  evicted = 0;

  constructor(
    readonly cap: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** Reads without refreshing the key's place. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.cap) {
      const oldest = this.nextOldest();
      if (!oldest.done) {
        const value = this.map.get(oldest.value)!;
        this.map.delete(oldest.value);
        this.evicted++;
        this.onEvict?.(oldest.value, value);
      }
    }
    this.map.set(key, value);
  }

  private nextOldest(): IteratorResult<K> {
    let next = this.oldest?.next();
    // A finished iterator stays finished, even after keys are added: start a new one.
    if (next === undefined || next.done) {
      this.oldest = this.map.keys();
      next = this.oldest.next();
    }
    return next;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
