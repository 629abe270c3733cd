/**
 * The keys of a Map in the order they were placed, each with a stamp, for the bounded
 * caches that must find their oldest entry. Finding it with `map.keys().next()` looks
 * O(1) but is not in V8: a deleted entry stays in the table as a hole until the table is
 * rebuilt, and every new iterator walks the holes from the front, so a full cache that
 * drops its oldest entry on every insert paid for all the entries it had dropped
 * before: 3.6 µs per insert at 10,000 entries, 50 µs at 100,000 (bench/, issue 19).
 *
 * A record goes stale when its key is placed again or deleted from the map; the map's
 * owner recognises that by the stamp, and skips the record.
 */
export class PlacementQueue {
  #keys: string[] = []
  #stamps: number[] = []
  #head = 0

  push (key: string, stamp: number): void {
    this.#keys.push(key)
    this.#stamps.push(stamp)
  }

  /** The oldest record's key; only when `length > 0`. */
  get oldestKey (): string {
    return this.#keys[this.#head]!
  }

  /** The oldest record's stamp; only when `length > 0`. */
  get oldestStamp (): number {
    return this.#stamps[this.#head]!
  }

  /** Drops the oldest record. */
  shift (): void {
    this.#head++
    // the consumed front is given back once it is most of the arrays: amortised O(1)
    if (this.#head >= 1024 && this.#head * 2 >= this.#keys.length) {
      this.#keys = this.#keys.slice(this.#head)
      this.#stamps = this.#stamps.slice(this.#head)
      this.#head = 0
    }
  }

  /**
   * Drops records, oldest first, up to and including the first live one: a record whose
   * stamp is still its key's (`stampOf`, from the owner's map). That key, or undefined
   * when no record is live.
   */
  shiftOldestLive (stampOf: (key: string) => number | undefined): string | undefined {
    while (this.length > 0) {
      const key = this.oldestKey
      const live = stampOf(key) === this.oldestStamp
      this.shift()
      if (live) return key
    }
    return undefined
  }

  /** Records held, stale ones included. */
  get length (): number {
    return this.#keys.length - this.#head
  }

  clear (): void {
    this.#keys = []
    this.#stamps = []
    this.#head = 0
  }
}
