import { accessTokenHash, errors } from '@ratchet/shared'
import type { KeyStore } from '../keys/store.js'
import type { VerificationKey } from '../keys/jwk.js'
import { LruCache } from './cache.js'
import { BAD_SIGNATURE, checkSegments, decodePayload, splitToken, type SplitToken } from './jws.js'
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
  /** for a bound token, its hash as a proof's `ath` must name it (RFC 9449 §4.2): computed once, not per request */
  ath?: string | undefined
}

/** A cache entry: the whole token it was verified for, which a hit must equal. */
interface CachedToken { token: string, verified: VerifiedToken }

/**
 * The cache's key for a token: its signature segment. A lookup hashes its key, and a
 * token is a new string on every request, so keying by the whole token (600+ characters)
 * cost a hash of all of it per request, ~1 µs of a cached GET /v1/me (bench/, issue 19);
 * the signature is 86. A hit still needs the whole token to be equal, so a signature
 * copied onto another header or payload finds the entry but not a verification.
 */
function cacheKey (token: string): string {
  return token.slice(token.lastIndexOf('.') + 1)
}

export interface TokenVerifierOptions {
  keys: KeyStore
  /** ISSUER: the only accepted iss */
  issuer: string
  /** AUDIENCE: aud must be it or hold it */
  audience: string
  /** seconds */
  leeway: number
  cacheSize: number
  /** maps a NumericDate to the revocation list's relative ms */
  relativeMs: (numericDate: number) => number
  now?: () => number
}

/** Claims every access token must carry (RFC 9068 §2.2 plus ours). // wire contract */
export const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'client_id', 'iat', 'exp', 'jti', 'sid', 'scope', 'auth_time']

// The claim checks and their wording are fast-jwt's, which this verifier used before
// (services/resource/README.md); "expired" is only reported once the signature has been
// checked, so it always concerns a genuine token and the client may refresh.
const claimsInvalid = (why: string): Error => invalidToken(`The access token claims are invalid: ${why}`)

function checkRegisteredClaims (p: Record<string, unknown>, issuer: string, audience: string, leewayMs: number, nowMs: number): void {
  for (const claim of REQUIRED_CLAIMS) if (!(claim in p)) throw claimsInvalid(`The ${claim} claim is required`)
  if ('nbf' in p) {
    if (typeof p.nbf !== 'number') throw claimsInvalid('The nbf claim must be a number')
    if (nowMs < p.nbf * 1000 - leewayMs) throw invalidToken('The access token is not valid yet')
  }
  if (typeof p.exp !== 'number') throw claimsInvalid('The exp claim must be a number')
  if (nowMs > p.exp * 1000 + leewayMs) throw expiredToken()
  const aud = p.aud
  if (Array.isArray(aud)) {
    if (!aud.every((a) => typeof a === 'string')) throw claimsInvalid('The aud claim must be a string or an array of strings')
    if (!aud.includes(audience)) throw claimsInvalid('None of aud claim values are allowed')
  } else {
    if (typeof aud !== 'string') throw claimsInvalid('The aud claim must be a string or an array of strings')
    if (aud !== audience) throw claimsInvalid('The aud claim value is not allowed')
  }
  if (typeof p.iss !== 'string') throw claimsInvalid('The iss claim must be a string')
  if (p.iss !== issuer) throw claimsInvalid('The iss claim value is not allowed')
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
  readonly #cache: LruCache<CachedToken>
  readonly #keys: KeyStore
  readonly #leewayMs: number
  readonly #issuer: string
  readonly #audience: string
  readonly #relativeMs: (numericDate: number) => number
  readonly #now: () => number
  /** cache lookups, for /metrics (hit rate) */
  cacheHits = 0
  cacheMisses = 0

  constructor (opts: TokenVerifierOptions) {
    this.#cache = new LruCache(opts.cacheSize)
    this.#keys = opts.keys
    this.#leewayMs = opts.leeway * 1000
    this.#issuer = opts.issuer
    this.#audience = opts.audience
    this.#relativeMs = opts.relativeMs
    this.#now = opts.now ?? Date.now
  }

  /** The hot path: a token verified before and not expired since. */
  cached (token: string, nowMs: number): VerifiedToken | undefined {
    const key = cacheKey(token)
    const entry = this.#cache.get(key)
    if (entry === undefined || entry.token !== token) { this.cacheMisses++; return undefined }
    if (nowMs <= entry.verified.notAfterMs) { this.cacheHits++; return entry.verified }
    this.#cache.delete(key)
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
    const jws = splitToken(token)
    const key = this.#keys.get(jws.header.kid)
    if (key !== undefined) return this.#verifyWith(token, jws, key)
    return this.#keys.refreshForUnknownKid().then(() => {
      const fresh = this.#keys.get(jws.header.kid)
      if (fresh !== undefined) return this.#verifyWith(token, jws, fresh)
      // without any key we cannot tell a good token from a bad one: that is our outage, not the client's fault
      if (this.#keys.size === 0) throw new errors.RATCHET_DEPENDENCY_UNAVAILABLE('The signing key set (JWKS)')
      throw invalidToken('The access token was signed with an unknown key')
    })
  }

  /**
   * RFC 8725 in the order fast-jwt checked it: segments, payload JSON, signature by the
   * key's own algorithm (RFC 8725 §3.1: the token's alg only has to agree), crit, then
   * the registered claims; then ours.
   */
  #verifyWith (token: string, jws: SplitToken, key: VerificationKey): VerifiedToken {
    if (jws.header.alg !== key.alg) throw invalidToken('The access token algorithm does not match its key')
    checkSegments(jws)
    const p = decodePayload(jws.payload)
    if (jws.signature === '') throw invalidToken(BAD_SIGNATURE)
    let valid: boolean
    try {
      valid = key.check(Buffer.from(jws.signingInput, 'latin1'), Buffer.from(jws.signature, 'base64url'))
    } catch {
      valid = false
    }
    if (!valid) throw invalidToken(BAD_SIGNATURE)
    if (jws.header.crit) throw invalidToken('The access token has an unsupported critical header')
    const nowMs = this.#now()
    checkRegisteredClaims(p, this.#issuer, this.#audience, this.#leewayMs, nowMs)
    const { sub, sid, scope, client_id: clientId, auth_time: authTime, exp, iat, jti } = p
    if (!isString(sub) || !isString(sid) || !isString(clientId) || !isString(jti) || typeof scope !== 'string' ||
      typeof authTime !== 'number' || typeof exp !== 'number' || typeof iat !== 'number') {
      throw invalidToken('The access token claims are invalid: a required claim has the wrong type')
    }
    // an iat in the future is as suspicious as an nbf (RFC 7519 §4.1.6)
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
      jkt,
      ath: jkt !== undefined ? accessTokenHash(token) : undefined
    }
    this.#cache.set(cacheKey(token), { token, verified })
    return verified
  }
}
