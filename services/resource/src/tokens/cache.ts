/**
 * A bounded LRU map on top of Map's insertion order: a hit moves the entry to the
 * end, an insert past `max` drops the oldest. Small and allocation-free on hits,
 * which is what the verification hot path needs.
 */
export class LruCache<V> {
  readonly #map = new Map<string, V>()
  constructor (readonly max: number) {}

  get (key: string): V | undefined {
    const value = this.#map.get(key)
    if (value !== undefined) {
      // refresh recency: delete + set reuses the key string, whose hash is cached by then
      this.#map.delete(key)
      this.#map.set(key, value)
    }
    return value
  }

  set (key: string, value: V): void {
    if (this.max === 0) return
    this.#map.delete(key)
    this.#map.set(key, value)
    if (this.#map.size > this.max) {
      const oldest = this.#map.keys().next()
      if (oldest.done !== true) this.#map.delete(oldest.value)
    }
  }

  delete (key: string): void {
    this.#map.delete(key)
  }

  clear (): void {
    this.#map.clear()
  }

  get size (): number {
    return this.#map.size
  }
}
