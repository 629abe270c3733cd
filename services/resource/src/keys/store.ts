import type { FastifyBaseLogger } from 'fastify'
import { importJwk, type VerificationKey } from './jwk.js'

export interface KeyStoreOptions {
  url: string
  log: FastifyBaseLogger
  /** background refresh period while keys are loaded (ms) */
  refreshInterval?: number
  /** background retry period while no key is loaded (ms) */
  retryInterval?: number
  /** at most one refresh triggered by an unknown kid per this many ms */
  minRefreshInterval?: number
  /** per-fetch timeout (ms) */
  timeout?: number
  /** called after a refresh removed a key, so cached verifications made with it are dropped */
  onKeysRemoved?: () => void
}

const MAX_JWKS_BYTES = 512 * 1024

/**
 * The auth service's public keys, fetched from its JWKS. Starts empty (the auth service
 * may not be up yet), retries in the background until it has keys, then refreshes
 * periodically; a token naming an unknown kid triggers a refresh at once, rate-limited
 * so that tokens with made-up kids cannot turn this service into a JWKS flooder.
 */
export class KeyStore {
  #keys = new Map<string, VerificationKey>()
  readonly #opts: Required<Omit<KeyStoreOptions, 'onKeysRemoved'>>
  /** called after a refresh removed a key */
  onKeysRemoved: (() => void) | undefined
  #inflight: Promise<boolean> | null = null
  #lastAttempt = -Infinity
  #timer: NodeJS.Timeout | null = null
  #stopped = false
  /** aborts a fetch in flight at stop, so an unreachable auth service holds nothing open */
  readonly #abort = new AbortController()
  /** consecutive failed fetches: the first is a warning, the rest are debug noise */
  #failures = 0
  /** fetches made, for tests and metrics */
  fetches = 0
  /** of those, fetches that loaded no key (unreachable, bad answer), for metrics */
  fetchFailures = 0

  constructor (opts: KeyStoreOptions) {
    const { onKeysRemoved, ...rest } = opts
    this.#opts = { refreshInterval: 300_000, retryInterval: 1000, minRefreshInterval: 10_000, timeout: 5000, ...rest }
    this.onKeysRemoved = onKeysRemoved
  }

  get (kid: string): VerificationKey | undefined {
    return this.#keys.get(kid)
  }

  get size (): number {
    return this.#keys.size
  }

  get kids (): string[] {
    return [...this.#keys.keys()]
  }

  start (): void {
    this.refresh().then(() => this.#schedule())
  }

  stop (): void {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#abort.abort()
  }

  #schedule (): void {
    if (this.#stopped) return
    // while the auth service is away, back off (up to 10 retry periods) instead of hammering it
    const wait = this.#keys.size > 0 ? this.#opts.refreshInterval : Math.min(this.#opts.retryInterval * 2 ** Math.min(this.#failures, 10), this.#opts.retryInterval * 10)
    this.#timer = setTimeout(() => { this.refresh().then(() => this.#schedule()) }, wait)
    this.#timer.unref()
  }

  /**
   * Refresh because a token named a kid we do not know. Resolves false without fetching
   * when the last attempt is too recent; while no key is loaded the shorter retry period
   * applies, so the service picks up the auth service soon after it comes up.
   */
  refreshForUnknownKid (): Promise<boolean> {
    if (this.#inflight) return this.#inflight
    const min = this.#keys.size > 0 ? this.#opts.minRefreshInterval : this.#opts.retryInterval
    if (performance.now() - this.#lastAttempt < min) return Promise.resolve(false)
    return this.refresh()
  }

  /** Fetches the JWKS now (concurrent callers share one fetch). Resolves true when keys were loaded. */
  refresh (): Promise<boolean> {
    this.#inflight ??= this.#fetch().finally(() => { this.#inflight = null })
    return this.#inflight
  }

  async #fetch (): Promise<boolean> {
    this.#lastAttempt = performance.now()
    this.fetches++
    const { log, url } = this.#opts
    let body: unknown
    try {
      const res = await fetch(url, { signal: AbortSignal.any([AbortSignal.timeout(this.#opts.timeout), this.#abort.signal]), headers: { accept: 'application/json' } })
      const text = await res.text()
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      if (text.length > MAX_JWKS_BYTES) throw new Error('the key set is too large')
      body = JSON.parse(text)
    } catch (err) {
      // aborted by stop(): nothing failed
      if (this.#stopped) return false
      this.#failures++
      this.fetchFailures++
      log[this.#failures === 1 ? 'warn' : 'debug']({ url, err: (err as Error).message }, 'cannot fetch the JWKS; keeping the keys we have')
      return false
    }
    if (this.#failures > 0) log.info({ url }, 'the JWKS is reachable again')
    this.#failures = 0
    const list = (body as { keys?: unknown } | null)?.keys
    if (!Array.isArray(list)) {
      log.warn({ url }, 'the JWKS has no keys array; keeping the keys we have')
      this.fetchFailures++
      return false
    }
    const next = new Map<string, VerificationKey>()
    const duplicated = new Set<string>()
    for (const jwk of list) {
      const key = importJwk(jwk)
      if (typeof key === 'string') {
        log.warn({ url, reason: key }, 'skipping an unusable JWKS key')
      } else if (next.has(key.kid) || duplicated.has(key.kid)) {
        // two keys with one kid are ambiguous: use neither rather than guess
        log.warn({ url, kid: key.kid }, 'skipping a duplicate kid in the JWKS')
        next.delete(key.kid)
        duplicated.add(key.kid)
      } else {
        next.set(key.kid, key)
      }
    }
    if (next.size === 0) {
      // an empty set is a misconfiguration more likely than a mass revocation: keep serving
      log.error({ url }, 'the JWKS holds no usable key; keeping the keys we have')
      this.fetchFailures++
      return false
    }
    const removed = [...this.#keys.keys()].some((kid) => !next.has(kid))
    this.#keys = next
    log.debug({ kids: [...next.keys()] }, 'JWKS loaded')
    if (removed) this.onKeysRemoved?.()
    return true
  }
}
