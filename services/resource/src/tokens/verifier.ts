import { errors, ACCESS_TOKEN_ALGS, ACCESS_TOKEN_TYP } from '@ratchet/shared'
import type { KeyStore } from '../keys/store.js'
import type { VerificationKey } from '../keys/jwk.js'
import { LruCache } from './cache.js'
import { expiredToken, invalidToken } from '@ratchet/fastify'

/** What a verified access token grants, kept in the cache until the token expires. */
export interface VerifiedToken {
  sub: string
  sid: string
  scope: string
  scopes: readonly string[]
  client_id: string
  /** NumericDate with a millisecond fraction */
  auth_time: number
  exp: number
  /** auth_time in the revocation list's relative milliseconds */
  authTimeRel: number
  /** exp plus leeway, in ms since the epoch: the cache entry's end */
  notAfterMs: number
  /** cnf.jkt: the DPoP key the token is bound to (RFC 9449 §6.1); undefined for a Bearer token */
  jkt?: string | undefined
}

export interface TokenVerifierOptions {
  keys: KeyStore
  /** seconds */
  leeway: number
  cacheSize: number
  /** maps a NumericDate to the revocation list's relative ms */
  relativeMs: (numericDate: number) => number
  now?: () => number
}

const ALGS: readonly string[] = ACCESS_TOKEN_ALGS

// fast-jwt error codes → what the client is told. Expiry is only reported once the
// signature has been checked (fast-jwt checks claims after the signature), so an
// "expired" answer always concerns a genuine token and the client may refresh.
const DESCRIPTIONS: Record<string, string> = {
  FAST_JWT_MALFORMED: 'The access token is malformed',
  FAST_JWT_INVALID_PAYLOAD: 'The access token is malformed',
  FAST_JWT_INVALID_ALGORITHM: 'The access token algorithm is not accepted',
  FAST_JWT_INVALID_SIGNATURE: 'The access token signature is invalid',
  FAST_JWT_MISSING_SIGNATURE: 'The access token signature is invalid',
  FAST_JWT_INVALID_TYPE: `The token is not an access token (typ must be ${ACCESS_TOKEN_TYP})`,
  FAST_JWT_INACTIVE: 'The access token is not valid yet',
  FAST_JWT_INVALID_CRIT_HEADER: 'The access token has an unsupported critical header'
}

function describe (err: unknown): Error {
  const e = err as { code?: string, message?: string }
  if (e.code === 'FAST_JWT_EXPIRED') return expiredToken()
  const known = e.code !== undefined ? DESCRIPTIONS[e.code] : undefined
  if (known !== undefined) return invalidToken(known)
  if (e.code === 'FAST_JWT_INVALID_CLAIM_VALUE' || e.code === 'FAST_JWT_INVALID_CLAIM_TYPE' || e.code === 'FAST_JWT_MISSING_REQUIRED_CLAIM') {
    // fast-jwt's message names the claim ("The iss claim value is not allowed."), never a value
    return invalidToken(`The access token claims are invalid: ${(e.message ?? '').replace(/\.$/, '')}`)
  }
  return invalidToken('The access token is invalid')
}

interface Header { alg: string, kid: string }

/** Reads the JOSE header enough to choose a key. `jku`, `x5u`, `jwk`, `x5c` are never looked at. */
function readHeader (token: string): Header {
  const dot = token.indexOf('.')
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'))
  } catch {
    throw invalidToken('The access token is malformed')
  }
  if (dot <= 0 || header === null || typeof header !== 'object' || Array.isArray(header)) throw invalidToken('The access token is malformed')
  const h = header as Record<string, unknown>
  // RFC 9068 §4: typ must be at+jwt (the "application/" prefix is optional); this is what
  // keeps a refresh token (rt+jwt) or an ID token from being taken for an access token
  if (typeof h.typ !== 'string' || h.typ.toLowerCase().replace(/^application\//, '') !== ACCESS_TOKEN_TYP) {
    throw invalidToken(`The token is not an access token (typ must be ${ACCESS_TOKEN_TYP})`)
  }
  if (typeof h.alg !== 'string' || !ALGS.includes(h.alg)) throw invalidToken('The access token algorithm is not accepted')
  // kid is only a lookup key into the JWKS, never a path, URL or anything interpreted
  if (typeof h.kid !== 'string' || h.kid === '') throw invalidToken('The access token names no key (kid)')
  return { alg: h.alg, kid: h.kid }
}

function isString (v: unknown): v is string {
  return typeof v === 'string' && v !== ''
}

/** cnf.jkt of a token, if bound; a cnf we cannot honour makes the token unusable rather than unbound. */
function boundKey (cnf: unknown): string | undefined {
  if (cnf === undefined) return undefined
  const jkt = (cnf as { jkt?: unknown } | null)?.jkt
  if (typeof jkt !== 'string' || jkt === '') throw invalidToken('The access token claims are invalid: cnf must hold a jkt')
  return jkt
}

/**
 * Verifies access tokens by RFC 8725 / RFC 9068 against the JWKS keys, and remembers
 * verified tokens in a bounded LRU until they expire. Revocation is not checked here:
 * the caller checks it on every request, cache hit or not.
 */
export class TokenVerifier {
  readonly #cache: LruCache<VerifiedToken>
  readonly #keys: KeyStore
  readonly #leewayMs: number
  readonly #relativeMs: (numericDate: number) => number
  readonly #now: () => number
  /** cache lookups, for /metrics (hit rate) */
  cacheHits = 0
  cacheMisses = 0

  constructor (opts: TokenVerifierOptions) {
    this.#cache = new LruCache(opts.cacheSize)
    this.#keys = opts.keys
    this.#leewayMs = opts.leeway * 1000
    this.#relativeMs = opts.relativeMs
    this.#now = opts.now ?? Date.now
  }

  /** The hot path: a token verified before and not expired since. */
  cached (token: string, nowMs: number): VerifiedToken | undefined {
    const hit = this.#cache.get(token)
    if (hit === undefined) { this.cacheMisses++; return undefined }
    if (nowMs <= hit.notAfterMs) { this.cacheHits++; return hit }
    this.#cache.delete(token)
    this.cacheMisses++
    return undefined
  }

  /** Drops every cached verification (after a key left the JWKS). */
  clearCache (): void {
    this.#cache.clear()
  }

  get cacheSize (): number {
    return this.#cache.size
  }

  /**
   * Full verification. Synchronous when the key is known; waits for a (rate-limited) JWKS
   * refresh when the kid is unknown, so a rotated key is picked up without a restart.
   */
  verify (token: string): VerifiedToken | Promise<VerifiedToken> {
    const header = readHeader(token)
    const key = this.#keys.get(header.kid)
    if (key !== undefined) return this.#verifyWith(token, header, key)
    return this.#keys.refreshForUnknownKid().then(() => {
      const fresh = this.#keys.get(header.kid)
      if (fresh !== undefined) return this.#verifyWith(token, header, fresh)
      // without any key we cannot tell a good token from a bad one: that is our outage, not the client's fault
      if (this.#keys.size === 0) throw new errors.RATCHET_DEPENDENCY_UNAVAILABLE('The signing key set (JWKS)')
      throw invalidToken('The access token was signed with an unknown key')
    })
  }

  #verifyWith (token: string, header: Header, key: VerificationKey): VerifiedToken {
    // the algorithm is the key's own (RFC 8725 §3.1); the token's alg only has to agree
    if (header.alg !== key.alg) throw invalidToken('The access token algorithm does not match its key')
    let p: Record<string, unknown>
    try {
      p = key.verify(token)
    } catch (err) {
      throw describe(err)
    }
    const nowMs = this.#now()
    const { sub, sid, scope, client_id: clientId, auth_time: authTime, exp, iat, jti } = p
    if (!isString(sub) || !isString(sid) || !isString(clientId) || !isString(jti) || typeof scope !== 'string' ||
      typeof authTime !== 'number' || typeof exp !== 'number' || typeof iat !== 'number') {
      throw invalidToken('The access token claims are invalid: a required claim has the wrong type')
    }
    // fast-jwt checks exp and nbf; an iat in the future is just as suspicious (RFC 7519 §4.1.6)
    if (iat * 1000 > nowMs + this.#leewayMs) throw invalidToken('The access token is not valid yet')
    const jkt = boundKey(p.cnf)
    const verified: VerifiedToken = {
      sub,
      sid,
      scope,
      scopes: scope.split(' ').filter((s) => s !== ''),
      client_id: clientId,
      auth_time: authTime,
      exp,
      authTimeRel: this.#relativeMs(authTime),
      notAfterMs: exp * 1000 + this.#leewayMs,
      jkt
    }
    this.#cache.set(token, verified)
    return verified
  }
}
