interface Entry<V> { value: V, tick: number }

/**
 * A bounded LRU map on top of Map's insertion order: an insert past `max` drops
 * the oldest entry. A hit moves its entry to the end only when the entry has
 * fallen into the older half (more than max/2 inserts or moves since it was last
 * placed): an entry in the newer half is at least max/2 inserts away from
 * eviction already. So the hot path, a token used again and again, costs one
 * Map lookup instead of lookup + delete + insert (bench/, issue 19), and an
 * entry in use is never the next one dropped.
 */
export class LruCache<V> {
  readonly #map = new Map<string, Entry<V>>()
  readonly #fresh: number
  /** counts inserts and moves: an entry's tick says how recently it was placed */
  #tick = 0

  constructor (readonly max: number) {
    this.#fresh = Math.floor(max / 2)
  }

  get (key: string): V | undefined {
    const entry = this.#map.get(key)
    if (entry === undefined) return undefined
    if (this.#tick - entry.tick >= this.#fresh) {
      // delete + set reuses the key string, whose hash is cached by then
      this.#map.delete(key)
      entry.tick = ++this.#tick
      this.#map.set(key, entry)
    }
    return entry.value
  }

  set (key: string, value: V): void {
    if (this.max === 0) return
    this.#map.delete(key)
    this.#map.set(key, { value, tick: ++this.#tick })
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
