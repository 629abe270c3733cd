import type { JWT } from '@fastify/jwt'
import { ACCESS_TOKEN_TYP, REFRESH_TOKEN_TYP, type AccessTokenClaims, type RefreshTokenClaims } from '@ratchet/shared'
import type { KeyRing } from '../keys/ring.js'
import { currentKeySigner } from '../keys/signer.js'

export type JwtFault = 'malformed' | 'signature' | 'expired' | 'claims'

/** A token that failed verification; `fault` says why, for the error description. */
export class JwtError extends Error {
  constructor (readonly fault: JwtFault, message: string) { super(message) }
}

interface Header { kid?: unknown, typ?: unknown, alg?: unknown }

// fast-jwt's error codes (@fastify/jwt's app.jwt.*.verify throws them as they are),
// mapped here, once, by code. Whatever else a malformed token makes the library
// throw is still a token that does not verify: a 401, never a 500.
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

/** The two @fastify/jwt namespaces (plugins/jwt.ts). */
export interface JwtNamespaces { access: JWT, refresh: JWT }

export interface JwtOptions {
  issuer: string
  audience: string
  leewaySeconds: number
  /** ms since the epoch, for the not-from-the-future check (the service's injected clock) */
  now?: () => number
}

/**
 * Signs and verifies both token types against the current key ring. Access
 * tokens use the ring's asymmetric key; refresh tokens an HMAC key whose
 * audience is the issuer itself, so neither can pass for the other (different
 * typ, alg family, audience and key).
 */
export function createJwt (namespaces: JwtNamespaces, getRing: () => KeyRing, opts: JwtOptions) {
  const leewayMs = opts.leewaySeconds * 1000
  const now = opts.now ?? Date.now

  function headerOf (token: string): Header {
    try {
      const decoded = namespaces.access.decode<{ header: Header }>(token, { complete: true })
      if (decoded === null || typeof decoded.header !== 'object' || decoded.header === null) throw new Error('no header')
      return decoded.header
    } catch {
      throw new JwtError('malformed', 'the token is not a well-formed JWT')
    }
  }

  // the key is named on every call: the ring rotates under @fastify/jwt's boot-time keys
  function verifyOptions (kind: 'access' | 'refresh', kid: string, ignoreExpiration: boolean) {
    const ring = getRing()
    const common = { clockTolerance: leewayMs, ignoreExpiration, allowedIss: opts.issuer }
    if (kind === 'access') {
      const k = ring.accessKey(kid)
      if (k === undefined) throw new JwtError('signature', 'the token names an unknown key')
      return { ...common, key: k.publicPem, algorithms: [k.key.alg], allowedAud: opts.audience, checkTyp: ACCESS_TOKEN_TYP, requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'exp', 'iat', 'auth_time', 'client_id'] }
    }
    const secret = ring.refreshSecret(kid)
    if (secret === undefined) throw new JwtError('signature', 'the token names an unknown key')
    return { ...common, key: secret, algorithms: ['HS256'], allowedAud: opts.issuer, checkTyp: REFRESH_TOKEN_TYP, requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'exp', 'iat', 'client_id'] }
  }

  // expiry is checked against the wall clock (fast-jwt's own), with the leeway
  function verify<T> (kind: 'access' | 'refresh', token: string, ignoreExpiration: boolean): T {
    const header = headerOf(token)
    if (typeof header.kid !== 'string') throw new JwtError('malformed', 'the token has no kid')
    try {
      const claims = namespaces[kind].verify<T & { iat: unknown, exp: unknown, sub: unknown, sid: unknown }>(token, verifyOptions(kind, header.kid, ignoreExpiration) as Parameters<JWT['verify']>[1])
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

  // Access tokens are signed beneath @fastify/jwt, by a signer built once per
  // signing key: named per call, @fastify/jwt builds a signer each time, and
  // parsing the private key was 56% of a refresh's CPU (README).
  const signAccess = currentKeySigner<AccessTokenClaims>(getRing, ACCESS_TOKEN_TYP)

  function signRefresh (claims: RefreshTokenClaims): string {
    const ring = getRing()
    const k = ring.refreshKey
    return namespaces.refresh.sign(claims, { key: ring.refreshSecret(k.kid), algorithm: 'HS256', kid: k.kid, header: { alg: 'HS256', typ: REFRESH_TOKEN_TYP } })
  }

  return {
    signAccess,
    signRefresh,
    verifyAccess: (token: string, opt: { ignoreExpiration?: boolean } = {}): AccessTokenClaims =>
      verify<AccessTokenClaims>('access', token, opt.ignoreExpiration ?? false),
    verifyRefresh: (token: string, opt: { ignoreExpiration?: boolean } = {}): RefreshTokenClaims =>
      verify<RefreshTokenClaims>('refresh', token, opt.ignoreExpiration ?? false)
  }
}

export type Jwt = ReturnType<typeof createJwt>
