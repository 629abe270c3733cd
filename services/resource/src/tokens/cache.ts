import { PlacementQueue } from '@ratchet/shared'

interface Entry<V> { value: V, tick: number }

/**
 * A bounded LRU map: an insert past `max` drops the least recently placed entry. A hit
 * places its entry again only when the entry has fallen into the older half (more than
 * max/2 inserts or placements since it was last placed): an entry in the newer half is
 * at least max/2 inserts away from eviction already. So the hot path, a token used
 * again and again, costs one Map lookup, and an entry in use is never the next one
 * dropped.
 *
 * The order lives in a PlacementQueue stamped with each placement's tick, not in the
 * Map's own order: finding the oldest by iterating the Map cost O(entries dropped
 * before) per insert in V8 (placement-queue.ts): 7 µs per new token at the default
 * 10,000 entries, 56 µs at 100,000. A placement whose tick no longer matches its entry is stale.
 */
export class LruCache<V> {
  readonly #map = new Map<string, Entry<V>>()
  readonly #order = new PlacementQueue()
  /** a placement is live while its tick is still its entry's */
  readonly #tickOf = (key: string): number | undefined => this.#map.get(key)?.tick
  readonly #fresh: number
  /** counts inserts and placements: an entry's tick says how recently it was placed */
  #tick = 0

  constructor (readonly max: number) {
    this.#fresh = Math.floor(max / 2)
  }

  get (key: string): V | undefined {
    const entry = this.#map.get(key)
    if (entry === undefined) return undefined
    if (this.#tick - entry.tick >= this.#fresh) this.#place(key, entry)
    return entry.value
  }

  set (key: string, value: V): void {
    if (this.max === 0) return
    const entry = { value, tick: 0 }
    this.#map.set(key, entry)
    this.#place(key, entry)
    while (this.#map.size > this.max) this.#dropOldest()
    // placements outnumbering entries (hits, deletes, replaced keys): keep only the live ones
    if (this.#order.length > 2 * this.max + 64) this.#rebuildOrder()
  }

  delete (key: string): void {
    this.#map.delete(key)
  }

  clear (): void {
    this.#map.clear()
    this.#order.clear()
  }

  get size (): number {
    return this.#map.size
  }

  #place (key: string, entry: Entry<V>): void {
    entry.tick = ++this.#tick
    this.#order.push(key, entry.tick)
  }

  #dropOldest (): void {
    const key = this.#order.shiftOldestLive(this.#tickOf)
    if (key !== undefined) this.#map.delete(key)
  }

  #rebuildOrder (): void {
    const live = [...this.#map].sort((a, b) => a[1].tick - b[1].tick)
    this.#order.clear()
    for (const [key, entry] of live) this.#order.push(key, entry.tick)
  }
}
