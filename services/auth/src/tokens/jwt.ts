import { createVerifier, type Algorithm, type VerifierOptions } from 'fast-jwt'
import { ACCESS_TOKEN_TYP, BoundedMemo, REFRESH_TOKEN_TYP, type AccessTokenClaims, type RefreshTokenClaims } from '@ratchet/shared'
import type { KeyRing } from '../keys/ring.js'
import { currentKeySigner, currentRefreshSigner } from '../keys/signer.js'

export type JwtFault = 'malformed' | 'signature' | 'expired' | 'claims'

/** A token that failed verification; `fault` says why, for the error description. */
export class JwtError extends Error {
  constructor (readonly fault: JwtFault, message: string) { super(message) }
}

interface Header { kid?: unknown, typ?: unknown, alg?: unknown }

// Error codes mapped here, once: fast-jwt's (our verifiers throw them, and @fastify/jwt
// passes most of them on as they are) and the two @fastify/jwt wraps some of them in.
// Whatever else a malformed token makes a library throw is still a token that does
// not verify: a 401, never a 500.
const FAULTS: Record<string, [JwtFault, string]> = {
  FAST_JWT_EXPIRED: ['expired', 'the token expired'],
  FST_JWT_AUTHORIZATION_TOKEN_EXPIRED: ['expired', 'the token expired'],
  FAST_JWT_INVALID_SIGNATURE: ['signature', 'the signature does not verify'],
  FAST_JWT_MISSING_SIGNATURE: ['signature', 'the signature does not verify'],
  FAST_JWT_MALFORMED: ['malformed', 'the token is not a well-formed JWT'],
  FAST_JWT_INVALID_TYPE: ['malformed', 'the token is not a well-formed JWT'],
  FAST_JWT_INVALID_PAYLOAD: ['malformed', 'the token is not a well-formed JWT']
}

// @fastify/jwt folds a malformed token, a bad signature and a bad claim into one code;
// fast-jwt's message, which it keeps (plugins/jwt.ts), tells them apart
const FOLDED: Array<[RegExp, string]> = [[/signature/i, 'FAST_JWT_INVALID_SIGNATURE'], [/malformed/i, 'FAST_JWT_MALFORMED']]

function mapError (err: unknown): JwtError {
  if (err instanceof JwtError) return err
  let { code, message } = (err ?? {}) as { code?: unknown, message?: unknown }
  if (code === 'FST_JWT_AUTHORIZATION_TOKEN_INVALID') code = FOLDED.find(([pattern]) => typeof message === 'string' && pattern.test(message))?.[1]
  const known = typeof code === 'string' ? FAULTS[code] : undefined
  return known !== undefined ? new JwtError(known[0], known[1]) : new JwtError('claims', 'the token was not issued for this use')
}

export interface JwtOptions {
  issuer: string
  audience: string
  leewaySeconds: number
  /** ms since the epoch, for the not-from-the-future check (the service's injected clock) */
  now?: () => number
}

const ACCESS_CLAIMS = ['iss', 'aud', 'sub', 'sid', 'jti', 'exp', 'iat', 'auth_time', 'client_id']
const REFRESH_CLAIMS = ['iss', 'aud', 'sub', 'sid', 'jti', 'exp', 'iat', 'client_id']

/**
 * What an access token must be, whoever verifies it: @fastify/jwt at the Bearer routes
 * (plugins/jwt.ts, which also pins the algorithm to the key's) and this module's own
 * verifiers for a token sent in a body. Expiry is checked against the wall clock
 * (fast-jwt's own), with the leeway; `ignoreExpiration` is logout's mode.
 */
export function accessVerifierOptions (opts: JwtOptions, ignoreExpiration: boolean) {
  return {
    clockTolerance: opts.leewaySeconds * 1000,
    ignoreExpiration,
    allowedIss: opts.issuer,
    allowedAud: opts.audience,
    checkTyp: ACCESS_TOKEN_TYP,
    requiredClaims: ACCESS_CLAIMS
  } satisfies Partial<VerifierOptions>
}

/** The @fastify/jwt request decorators that verify the caller's access token (plugins/jwt.ts). */
export interface PresentedAccessToken {
  accessJwtVerify: () => Promise<unknown>
  accessAnyExpiryJwtVerify: () => Promise<unknown>
}

type Verifier = (token: string) => unknown
type AccessKeyEntry = NonNullable<ReturnType<KeyRing['accessKey']>>
// the key lookup's two refusals, whichever path verifies the token
export const noKid = (): JwtError => new JwtError('malformed', 'the token has no kid')
export const unknownKey = (): JwtError => new JwtError('signature', 'the token names an unknown key')
type Kind = 'access' | 'refresh'

const HEADER_MEMO_SIZE = 64

/**
 * Signs and verifies both token types against the current key ring. Access
 * tokens use the ring's asymmetric key; refresh tokens an HMAC key whose
 * audience is the issuer itself, so neither can pass for the other (different
 * typ, alg family, audience and key).
 */
export function createJwt (getRing: () => KeyRing, opts: JwtOptions) {
  const leewayMs = opts.leewaySeconds * 1000
  const now = opts.now ?? Date.now

  // The header of every token one key signs is the same string, so its parse is kept.
  // fast-jwt's full decoder parsed the payload too, which the verifier then parses
  // again: 3% of a refresh.
  const headers = new BoundedMemo<string, Header>(HEADER_MEMO_SIZE)

  function headerOf (token: string): Header {
    const first = token.indexOf('.')
    // two dots at least, as fast-jwt's decoder wants; the verifier checks the rest
    if (first === -1 || first >= token.lastIndexOf('.')) throw new JwtError('malformed', 'the token is not a well-formed JWT')
    const segment = token.slice(0, first)
    let header = headers.get(segment)
    if (header === undefined) {
      let parsed: unknown
      try {
        parsed = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
      } catch {
        throw new JwtError('malformed', 'the token is not a well-formed JWT')
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new JwtError('malformed', 'the token is not a well-formed JWT')
      header = headers.set(segment, parsed as Header)
    }
    return header
  }

  // A fast-jwt verifier per key, kind and expiry mode, built on first use and kept with
  // the key's entry on the ring, so a reloaded ring starts afresh and a retired key takes
  // its verifiers with it. Built per call, as @fastify/jwt's app.jwt.verify does when it
  // is told the key, one cost 40% of a refresh's token checks, and for an access token
  // the import of its public key, 200-300 µs (README).
  const verifiers = new WeakMap<object, Map<boolean, Verifier>>()

  function verifierFor (kind: Kind, kid: string, ignoreExpiration: boolean): Verifier {
    const ring = getRing()
    const entry = kind === 'access' ? ring.accessKey(kid) : ring.refreshSecret(kid)
    if (entry === undefined) throw unknownKey()
    let byMode = verifiers.get(entry)
    if (byMode === undefined) verifiers.set(entry, byMode = new Map())
    let verifier = byMode.get(ignoreExpiration)
    if (verifier === undefined) byMode.set(ignoreExpiration, verifier = buildVerifier(entry, ignoreExpiration))
    return verifier
  }

  // a refresh key is the HMAC secret itself; an access key is the ring's entry for it
  function buildVerifier (entry: AccessKeyEntry | Buffer, ignoreExpiration: boolean): Verifier {
    if (Buffer.isBuffer(entry)) return createVerifier({ key: entry, algorithms: ['HS256'], clockTolerance: leewayMs, ignoreExpiration, allowedIss: opts.issuer, allowedAud: opts.issuer, checkTyp: REFRESH_TOKEN_TYP, requiredClaims: REFRESH_CLAIMS })
    return createVerifier({ key: entry.publicPem, algorithms: [entry.key.alg as Algorithm], ...accessVerifierOptions(opts, ignoreExpiration) })
  }

  // what fast-jwt leaves unchecked, for every token whichever library verified it
  function checked<T> (verified: unknown): T {
    const claims = verified as T & { iat: unknown, exp: unknown, sub: unknown, sid: unknown }
    // fast-jwt checks iat only against maxAge: a token from the future is not ours
    if (typeof claims.iat !== 'number' || claims.iat * 1000 > now() + leewayMs) throw new JwtError('claims', 'the token was issued in the future')
    if (typeof claims.sub !== 'string' || typeof claims.sid !== 'string') throw new JwtError('claims', 'the token lacks sub or sid')
    // with expiry checks off (logout), fast-jwt looks at exp not at all
    if (typeof claims.exp !== 'number') throw new JwtError('claims', 'the token has no numeric exp')
    return claims
  }

  function verify<T> (kind: Kind, token: string, ignoreExpiration: boolean): T {
    const header = headerOf(token)
    if (typeof header.kid !== 'string') throw noKid()
    try {
      return checked<T>(verifierFor(kind, header.kid, ignoreExpiration)(token))
    } catch (err) {
      throw mapError(err)
    }
  }

  return {
    // one signer per current key each, built when a rotation makes another key current
    signAccess: currentKeySigner<AccessTokenClaims>(getRing, ACCESS_TOKEN_TYP),
    signRefresh: currentRefreshSigner<RefreshTokenClaims>(getRing, REFRESH_TOKEN_TYP),
    /** An access token sent in a body (introspection, revocation, a refresh's step 6). */
    verifyAccess: (token: string, opt: { ignoreExpiration?: boolean } = {}): AccessTokenClaims =>
      verify<AccessTokenClaims>('access', token, opt.ignoreExpiration ?? false),
    /** The caller's own access token, from its Authorization header, verified by @fastify/jwt. */
    async verifyPresented (request: PresentedAccessToken, opt: { ignoreExpiration?: boolean } = {}): Promise<AccessTokenClaims> {
      try {
        return checked<AccessTokenClaims>(await (opt.ignoreExpiration === true ? request.accessAnyExpiryJwtVerify() : request.accessJwtVerify()))
      } catch (err) {
        throw mapError(err)
      }
    },
    verifyRefresh: (token: string, opt: { ignoreExpiration?: boolean } = {}): RefreshTokenClaims =>
      verify<RefreshTokenClaims>('refresh', token, opt.ignoreExpiration ?? false)
  }
}

export type Jwt = ReturnType<typeof createJwt>
