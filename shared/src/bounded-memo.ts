/**
 * A memo of at most `limit` entries that forgets the oldest first: for parsed forms that
 * repeat (the header of every token one key signs, a client's proof header, an htu),
 * bounded so that made-up inputs cannot grow it. It finds its oldest entry with
 * `keys().next()`, which walks the holes dropped entries leave (placement-queue.ts):
 * well under a microsecond at the sizes memos have here (64 to a few thousand). The
 * caches of 10,000 entries and more keep a PlacementQueue instead.
 */
export class BoundedMemo<K, V> {
  readonly #entries = new Map<K, V>()

  constructor (readonly limit: number) {}

  get (key: K): V | undefined {
    return this.#entries.get(key)
  }

  /** Remembers `value` for `key`, forgetting the oldest entry if the memo is full; returns `value`. */
  set (key: K, value: V): V {
    if (this.#entries.size >= this.limit && !this.#entries.has(key)) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(key, value)
    return value
  }

  get size (): number {
    return this.#entries.size
  }
}
