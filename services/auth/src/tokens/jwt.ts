import { createDecoder, createSigner, createVerifier, TokenError } from 'fast-jwt'
import { ACCESS_TOKEN_TYP, REFRESH_TOKEN_TYP, type AccessTokenClaims, type RefreshTokenClaims } from '@ratchet/shared'
import type { KeyRing } from '../keys/ring.js'

type Signer = (payload: object) => string
type Verifier = (token: string) => unknown

export type JwtFault = 'malformed' | 'signature' | 'expired' | 'claims'

/** A token that failed verification; `fault` says why, for the error description. */
export class JwtError extends Error {
  constructor (readonly fault: JwtFault, message: string) { super(message) }
}

const decodeComplete = createDecoder({ complete: true })

interface Header { kid?: unknown, typ?: unknown, alg?: unknown }

function headerOf (token: string): Header {
  try {
    return (decodeComplete(token) as { header: Header }).header
  } catch {
    throw new JwtError('malformed', 'the token is not a well-formed JWT')
  }
}

function mapError (err: unknown): JwtError {
  if (err instanceof JwtError) return err
  const code = err instanceof TokenError ? err.code : ''
  if (code === TokenError.codes.expired) return new JwtError('expired', 'the token expired')
  if (code === TokenError.codes.invalidSignature) return new JwtError('signature', 'the signature does not verify')
  if (code === TokenError.codes.malformed || code === TokenError.codes.invalidType) return new JwtError('malformed', 'the token is not a well-formed JWT')
  return new JwtError('claims', 'the token was not issued for this use')
}

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
export function createJwt (getRing: () => KeyRing, opts: JwtOptions) {
  const signers = new Map<string, Signer>()
  const verifiers = new Map<string, Verifier>()
  const leewayMs = opts.leewaySeconds * 1000
  const now = opts.now ?? Date.now

  function accessSigner (ring: KeyRing): Signer {
    const k = ring.signingKey
    let s = signers.get(k.kid)
    if (s === undefined) {
      s = createSigner({ key: ring.signingPem(), algorithm: k.alg, kid: k.kid, header: { alg: k.alg, typ: ACCESS_TOKEN_TYP } })
      signers.set(k.kid, s)
    }
    return s
  }

  function refreshSigner (ring: KeyRing): Signer {
    const k = ring.refreshKey
    let s = signers.get(k.kid)
    if (s === undefined) {
      s = createSigner({ key: ring.refreshSecret(k.kid)!, algorithm: 'HS256', kid: k.kid, header: { alg: 'HS256', typ: REFRESH_TOKEN_TYP } })
      signers.set(k.kid, s)
    }
    return s
  }

  function verifierFor (kind: 'access' | 'refresh', kid: string, ignoreExpiration: boolean): Verifier {
    const ring = getRing()
    const cacheKey = `${kind}:${kid}:${ignoreExpiration ? 1 : 0}`
    const cached = verifiers.get(cacheKey)
    // a cached verifier is only reused while its key is still on the ring
    const onRing = kind === 'access' ? ring.accessKey(kid) : ring.refreshSecret(kid)
    if (onRing === undefined) throw new JwtError('signature', 'the token names an unknown key')
    if (cached !== undefined) return cached
    const common = { clockTolerance: leewayMs, ignoreExpiration, allowedIss: opts.issuer }
    const v = kind === 'access'
      ? createVerifier({ ...common, key: (onRing as { publicPem: string }).publicPem, algorithms: [(onRing as { key: { alg: string } }).key.alg as 'ES256'], allowedAud: opts.audience, checkTyp: ACCESS_TOKEN_TYP, requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'exp', 'iat', 'auth_time', 'client_id'] })
      : createVerifier({ ...common, key: onRing as Buffer, algorithms: ['HS256'], allowedAud: opts.issuer, checkTyp: REFRESH_TOKEN_TYP, requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'exp', 'iat', 'client_id'] })
    verifiers.set(cacheKey, v)
    return v
  }

  // expiry is checked against the wall clock (fast-jwt's own), with the leeway
  function verify<T> (kind: 'access' | 'refresh', token: string, ignoreExpiration: boolean): T {
    const header = headerOf(token)
    if (typeof header.kid !== 'string') throw new JwtError('malformed', 'the token has no kid')
    try {
      const v = verifierFor(kind, header.kid, ignoreExpiration)
      const claims = v(token) as T & { iat: unknown, exp: unknown, sub: unknown, sid: unknown }
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
    signAccess: (claims: AccessTokenClaims): string => accessSigner(getRing())(claims),
    signRefresh: (claims: RefreshTokenClaims): string => refreshSigner(getRing())(claims),
    verifyAccess: (token: string, opt: { ignoreExpiration?: boolean } = {}): AccessTokenClaims =>
      verify<AccessTokenClaims>('access', token, opt.ignoreExpiration ?? false),
    verifyRefresh: (token: string, opt: { ignoreExpiration?: boolean } = {}): RefreshTokenClaims =>
      verify<RefreshTokenClaims>('refresh', token, opt.ignoreExpiration ?? false)
  }
}

export type Jwt = ReturnType<typeof createJwt>
