import { PlacementQueue } from '../placement-queue.js'

/**
 * Where the `jti`s of accepted proofs are remembered until their proof could no longer
 * be accepted anyway (RFC 9449 §11.1). `remember` answers true for a proof not seen
 * before (and remembers it), false for a replay. The auth service keeps them in Redis,
 * so every instance sees every proof; a resource instance keeps its own in memory.
 */
export interface ReplayCache {
  remember (key: string, expiresAtMs: number, nowMs: number): boolean | Promise<boolean>
}

/**
 * A bounded in-memory replay cache. When it is full, the oldest entry is dropped, and
 * from then on a proof that would have expired no later than the dropped one is refused
 * as if seen (the horizon): under a flood the accepted window shrinks, but a dropped
 * `jti` can never be replayed. Entries are found oldest first through a PlacementQueue
 * (stamped with their expiry), not by iterating the Map: see placement-queue.ts.
 */
export class MemoryReplayCache implements ReplayCache {
  readonly #seen = new Map<string, number>()
  readonly #order = new PlacementQueue()
  /** a record is live while its expiry is still its key's */
  readonly #expiryOf = (key: string): number | undefined => this.#seen.get(key)
  #horizonMs = 0

  constructor (readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('the replay cache needs room for at least one entry')
  }

  remember (key: string, expiresAtMs: number, nowMs: number): boolean {
    if (expiresAtMs <= this.#horizonMs) return false
    const known = this.#seen.get(key)
    if (known !== undefined && known > nowMs) return false
    this.#sweep(nowMs)
    if (this.#seen.size >= this.max) {
      const dropped = this.#dropOldest()
      if (dropped > this.#horizonMs) this.#horizonMs = dropped
      if (expiresAtMs <= this.#horizonMs) return false
    }
    this.#seen.set(key, expiresAtMs)
    this.#order.push(key, expiresAtMs)
    return true
  }

  /** Entries are added with about the same lifetime, so the expired ones are at the front. */
  #sweep (nowMs: number): void {
    const order = this.#order
    while (order.length > 0 && order.oldestStamp <= nowMs) {
      const key = order.oldestKey
      // a key remembered again after it expired has a newer record: this one is stale
      if (this.#seen.get(key) === order.oldestStamp) this.#seen.delete(key)
      order.shift()
    }
  }

  /** Forgets the oldest live entry; its expiry. */
  #dropOldest (): number {
    const key = this.#order.shiftOldestLive(this.#expiryOf)
    if (key === undefined) return 0
    const expiry = this.#seen.get(key)!
    this.#seen.delete(key)
    return expiry
  }

  get size (): number {
    return this.#seen.size
  }
}
