/**
 * The revocations this instance must enforce, in memory (DESIGN.md, Events).
 *
 * - by session: `sid` → when the entry may be forgotten;
 * - by user: `sub` → `before` (a token whose `auth_time` is strictly earlier is revoked).
 *
 * An entry is kept for ACCESS_TOKEN_TTL + CLOCK_LEEWAY after it is recorded: an access
 * token issued before the revocation cannot be accepted for longer than that, and the
 * auth service mints no new token for a revoked session.
 *
 * Memory is benchmarked, so entries are compact: times are stored relative to `epoch`
 * (seconds or milliseconds) so they stay small integers (V8 Smis, no heap box), and
 * expiry follows insertion order, so sweeping needs no extra index.
 */
export interface RevocationListOptions {
  /** ACCESS_TOKEN_TTL + CLOCK_LEEWAY, in seconds */
  retainSeconds: number
  now?: () => number
}

export class RevocationList {
  readonly #now: () => number
  readonly #retain: number
  readonly #epochMs: number
  /** sid → forget-after (seconds since epoch); insertion order = expiry order */
  readonly #sessions = new Map<string, number>()
  /** sub → before (ms since epoch) */
  readonly #users = new Map<string, number>()
  /** sub → forget-after (seconds since epoch); insertion order = expiry order */
  readonly #userExpiry = new Map<string, number>()

  constructor (opts: RevocationListOptions) {
    this.#now = opts.now ?? Date.now
    this.#retain = opts.retainSeconds
    this.#epochMs = this.#now()
  }

  /** Converts a NumericDate (seconds, ms fraction) to the relative milliseconds used inside. */
  relativeMs (numericDate: number): number {
    return Math.round(numericDate * 1000) - this.#epochMs
  }

  #forgetAfter (): number {
    return Math.ceil((this.#now() - this.#epochMs) / 1000) + this.#retain
  }

  revokeSession (sid: string): void {
    // delete first so the entry moves to the end and insertion order stays expiry order
    this.#sessions.delete(sid)
    this.#sessions.set(sid, this.#forgetAfter())
  }

  revokeUser (sub: string, before: number): void {
    const rel = this.relativeMs(before)
    const old = this.#users.get(sub)
    this.#users.set(sub, old === undefined ? rel : Math.max(old, rel))
    this.#userExpiry.delete(sub)
    this.#userExpiry.set(sub, this.#forgetAfter())
  }

  /**
   * The hot-path check. `authTimeRelMs` comes from relativeMs(auth_time), computed once per
   * verified token. An entry past its expiry but not yet swept still answers "revoked": any
   * token it could match has expired by then, so that is harmless.
   */
  isRevoked (sid: string, sub: string, authTimeRelMs: number): boolean {
    if (this.#sessions.has(sid)) return true
    const before = this.#users.get(sub)
    return before !== undefined && authTimeRelMs < before
  }

  /** Forgets entries no live token can match any more. */
  sweep (): void {
    const now = Math.floor((this.#now() - this.#epochMs) / 1000)
    for (const [sid, until] of this.#sessions) {
      if (until > now) break
      this.#sessions.delete(sid)
    }
    for (const [sub, until] of this.#userExpiry) {
      if (until > now) break
      this.#userExpiry.delete(sub)
      this.#users.delete(sub)
    }
  }

  get size (): { sessions: number, users: number } {
    return { sessions: this.#sessions.size, users: this.#users.size }
  }
}
