/**
 * A Map holding at most `max` entries, dropping the least recently used: every cache of the
 * gateway and the subgraphs (sessions, persisted queries, OMERO.web sessions, a live stream's
 * runs) is bounded by this one rule. `get` counts as a use; `peek` does not.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly max: number) {
    if (!(Number.isInteger(max) && max >= 1)) throw new Error(`A bounded map needs a bound of at least 1 (got ${max}).`);
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined || this.map.has(key)) {
      // most recently used last
      this.map.delete(key);
      this.map.set(key, value as V);
    }
    return value;
  }

  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): this {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
    return this;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}
