import { createPublicKey, type KeyObject } from 'node:crypto'
import { createVerifier } from 'fast-jwt'
import { ACCESS_TOKEN_ALGS, ACCESS_TOKEN_TYP, type AccessTokenAlg } from '@ratchet/shared'

/** One verification key from the JWKS, with a verifier pinned to the key's own algorithm. */
export interface VerificationKey {
  kid: string
  alg: AccessTokenAlg
  /** Verifies signature, typ, iss, aud, exp, nbf; returns the payload or throws a fast-jwt TokenError. */
  verify: (token: string) => Record<string, unknown>
}

export interface VerifierPolicy {
  issuer: string
  audience: string
  /** seconds */
  leeway: number
}

/** Claims every access token must carry (RFC 9068 §2.2 plus ours). // wire contract */
export const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'client_id', 'iat', 'exp', 'jti', 'sid', 'scope', 'auth_time']

function keyMatchesAlg (key: KeyObject, alg: AccessTokenAlg): boolean {
  const details = key.asymmetricKeyDetails ?? {}
  switch (alg) {
    case 'ES256': return key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1'
    case 'EdDSA': return key.asymmetricKeyType === 'ed25519'
    case 'PS256': return (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && (details.modulusLength ?? 0) >= 2048
  }
}

/**
 * Turns a JWK into a verification key, or explains why it is unusable. Only signature
 * keys of the algorithms the auth service offers are taken, and the key's `alg` must
 * be present and agree with its type: the algorithm comes from the key, never from the
 * token (RFC 8725 §3.1), so an HMAC key ("oct") or an RSA key used as a secret can never
 * verify anything here.
 */
export function importJwk (jwk: unknown, policy: VerifierPolicy): VerificationKey | string {
  if (jwk === null || typeof jwk !== 'object') return 'not an object'
  const k = jwk as Record<string, unknown>
  if (typeof k.kid !== 'string' || k.kid === '') return 'no kid'
  if (k.use !== undefined && k.use !== 'sig') return `kid ${k.kid}: use is not sig`
  if (Array.isArray(k.key_ops) && !k.key_ops.includes('verify')) return `kid ${k.kid}: key_ops lack verify`
  const alg = k.alg
  if (typeof alg !== 'string' || !(ACCESS_TOKEN_ALGS as readonly string[]).includes(alg)) return `kid ${k.kid}: alg ${String(alg)} is not accepted`
  let key: KeyObject
  try {
    // public members only: a private JWK must not become usable for anything else
    const { kty, crv, x, y, n, e } = k
    key = createPublicKey({ key: { kty, crv, x, y, n, e } as import('node:crypto').JsonWebKey, format: 'jwk' })
  } catch {
    return `kid ${k.kid}: not a valid public key`
  }
  if (!keyMatchesAlg(key, alg as AccessTokenAlg)) return `kid ${k.kid}: key type does not match alg ${alg}`
  const verify = createVerifier({
    key: key.export({ type: 'spki', format: 'pem' }).toString(),
    algorithms: [alg as AccessTokenAlg],
    allowedIss: policy.issuer,
    allowedAud: policy.audience,
    checkTyp: ACCESS_TOKEN_TYP,
    clockTolerance: policy.leeway * 1000,
    requiredClaims: REQUIRED_CLAIMS,
    cache: false
  })
  return { kid: k.kid, alg: alg as AccessTokenAlg, verify: verify as (token: string) => Record<string, unknown> }
}
