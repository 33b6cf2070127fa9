// A Map with a size cap: the least recently used key goes first, and evictions
// are counted so that status can say how much was forgotten.

export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
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
      const oldest = this.map.keys().next();
      if (!oldest.done) {
        const value = this.map.get(oldest.value)!;
        this.map.delete(oldest.value);
        this.evicted++;
        this.onEvict?.(oldest.value, value);
      }
    }
    this.map.set(key, value);
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
