import type { JWT } from '@fastify/jwt'
import { createVerifier, type Algorithm } from 'fast-jwt'
import { ACCESS_TOKEN_TYP, REFRESH_TOKEN_TYP, type AccessTokenClaims, type RefreshTokenClaims } from '@ratchet/shared'
import type { KeyRing } from '../keys/ring.js'
import { currentKeySigner, currentRefreshSigner } from '../keys/signer.js'

export type JwtFault = 'malformed' | 'signature' | 'expired' | 'claims'

/** A token that failed verification; `fault` says why, for the error description. */
export class JwtError extends Error {
  constructor (readonly fault: JwtFault, message: string) { super(message) }
}

interface Header { kid?: unknown, typ?: unknown, alg?: unknown }

// fast-jwt's error codes (our refresh verifiers throw them, and @fastify/jwt's
// app.jwt.access.verify throws them as they are), mapped here, once, by code. Whatever
// else a malformed token makes the library throw is still a token that does not
// verify: a 401, never a 500.
const FAULTS: Record<string, [JwtFault, string]> = {
  FAST_JWT_EXPIRED: ['expired', 'the token expired'],
  FAST_JWT_INVALID_SIGNATURE: ['signature', 'the signature does not verify'],
  FAST_JWT_MISSING_SIGNATURE: ['signature', 'the signature does not verify'],
  FAST_JWT_MALFORMED: ['malformed', 'the token is not a well-formed JWT'],
  FAST_JWT_INVALID_TYPE: ['malformed', 'the token is not a well-formed JWT'],
  FAST_JWT_INVALID_PAYLOAD: ['malformed', 'the token is not a well-formed JWT']
}

function mapError (err: unknown): JwtError {
  if (err instanceof JwtError) return err
  const code = (err as { code?: unknown } | null)?.code
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

type Verifier = (token: string) => unknown

/** The @fastify/jwt namespace the service verifies access tokens with (plugins/jwt.ts). */
export interface JwtNamespaces { access: Pick<JWT, 'verify'> }
type Kind = 'access' | 'refresh'

const HEADER_CACHE_SIZE = 64

/**
 * Signs and verifies both token types against the current key ring. Access
 * tokens use the ring's asymmetric key; refresh tokens an HMAC key whose
 * audience is the issuer itself, so neither can pass for the other (different
 * typ, alg family, audience and key).
 */
export function createJwt (namespaces: JwtNamespaces, getRing: () => KeyRing, opts: JwtOptions) {
  const leewayMs = opts.leewaySeconds * 1000
  const now = opts.now ?? Date.now

  // The header of every token one key signs is the same string, so its parse is kept (a
  // few entries, bounded so made-up headers cannot grow it). fast-jwt's full decoder
  // parsed the payload too, which the verifier then parses again: 3% of a refresh.
  const headers = new Map<string, Header>()

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
      header = parsed as Header
      if (headers.size >= HEADER_CACHE_SIZE) headers.delete(headers.keys().next().value!)
      headers.set(segment, header)
    }
    return header
  }

  // Access tokens reach the auth service only at its own Bearer routes (logout,
  // sessions, account, introspection): @fastify/jwt verifies them, told the key on each
  // call, as the ring rotates under the key it registered at boot.
  function verifyAccessClaims (kid: string, token: string, ignoreExpiration: boolean): unknown {
    const k = getRing().accessKey(kid)
    if (k === undefined) throw new JwtError('signature', 'the token names an unknown key')
    return namespaces.access.verify(token, {
      key: k.publicPem,
      algorithms: [k.key.alg as Algorithm],
      clockTolerance: leewayMs,
      ignoreExpiration,
      allowedIss: opts.issuer,
      allowedAud: opts.audience,
      checkTyp: ACCESS_TOKEN_TYP,
      requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'exp', 'iat', 'auth_time', 'client_id']
    } as Parameters<JWT['verify']>[1])
  }

  // Refresh tokens are the refresh hot path: a fast-jwt verifier per key and expiry
  // mode, built on first use and kept with the key's entry on the ring, so a reloaded
  // ring starts afresh and a retired key takes its verifiers with it. Built per call,
  // as @fastify/jwt does when it is told the key, one cost 40% of a refresh's token
  // checks (README).
  const verifiers = new WeakMap<object, Map<boolean, Verifier>>()

  function refreshVerifier (kid: string, ignoreExpiration: boolean): Verifier {
    const secret = getRing().refreshSecret(kid)
    if (secret === undefined) throw new JwtError('signature', 'the token names an unknown key')
    let byMode = verifiers.get(secret)
    if (byMode === undefined) verifiers.set(secret, byMode = new Map())
    let verifier = byMode.get(ignoreExpiration)
    if (verifier === undefined) {
      verifier = createVerifier({ key: secret, algorithms: ['HS256'], clockTolerance: leewayMs, ignoreExpiration, allowedIss: opts.issuer, allowedAud: opts.issuer, checkTyp: REFRESH_TOKEN_TYP, requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'exp', 'iat', 'client_id'] })
      byMode.set(ignoreExpiration, verifier)
    }
    return verifier
  }

  // expiry is checked against the wall clock (fast-jwt's own), with the leeway
  function verify<T> (kind: Kind, token: string, ignoreExpiration: boolean): T {
    const header = headerOf(token)
    if (typeof header.kid !== 'string') throw new JwtError('malformed', 'the token has no kid')
    try {
      const claims = (kind === 'access' ? verifyAccessClaims(header.kid, token, ignoreExpiration) : refreshVerifier(header.kid, ignoreExpiration)(token)) as T & { iat: unknown, exp: unknown, sub: unknown, sid: unknown }
      // fast-jwt checks iat only against maxAge: a token from the future is not ours
      if (typeof claims.iat !== 'number' || claims.iat * 1000 > now() + leewayMs) throw new JwtError('claims', 'the token was issued in the future')
      if (typeof claims.sub !== 'string' || typeof claims.sid !== 'string') throw new JwtError('claims', 'the token lacks sub or sid')
      // with expiry checks off (logout), fast-jwt looks at exp not at all
      if (typeof claims.exp !== 'number') throw new JwtError('claims', 'the token has no numeric exp')
      return claims
    } catch (err) {
      throw mapError(err)
    }
  }

  return {
    // one signer per current key each, built when a rotation makes another key current
    signAccess: currentKeySigner<AccessTokenClaims>(getRing, ACCESS_TOKEN_TYP),
    signRefresh: currentRefreshSigner<RefreshTokenClaims>(getRing, REFRESH_TOKEN_TYP),
    verifyAccess: (token: string, opt: { ignoreExpiration?: boolean } = {}): AccessTokenClaims =>
      verify<AccessTokenClaims>('access', token, opt.ignoreExpiration ?? false),
    verifyRefresh: (token: string, opt: { ignoreExpiration?: boolean } = {}): RefreshTokenClaims =>
      verify<RefreshTokenClaims>('refresh', token, opt.ignoreExpiration ?? false)
  }
}

export type Jwt = ReturnType<typeof createJwt>
