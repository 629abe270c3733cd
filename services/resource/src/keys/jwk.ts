import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto'
import { ACCESS_TOKEN_ALGS, type AccessTokenAlg } from '@ratchet/shared'

/** One verification key from the JWKS, with a signature check pinned to the key's own algorithm. */
export interface VerificationKey {
  kid: string
  alg: AccessTokenAlg
  /** Whether `signature` (the JWS's, decoded) is this key's over `data`, by the key's alg. */
  check: (data: Buffer, signature: Buffer) => boolean
}

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
export function importJwk (jwk: unknown): VerificationKey | string {
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
  return { kid: k.kid, alg: alg as AccessTokenAlg, check: signatureCheck(key, alg as AccessTokenAlg) }
}

/**
 * One-shot node:crypto verification against the parsed KeyObject (services/resource/README.md:
 * fast-jwt's streaming createVerify and DER conversion cost more than the ES256 math).
 * JWS carries R || S for ECDSA (RFC 7518 §3.4) and PS256 salts with the hash's length (§3.5).
 */
function signatureCheck (key: KeyObject, alg: AccessTokenAlg): (data: Buffer, signature: Buffer) => boolean {
  switch (alg) {
    case 'ES256': {
      const k = { key, dsaEncoding: 'ieee-p1363' as const }
      return (data, sig) => verify('sha256', data, k, sig)
    }
    case 'EdDSA': return (data, sig) => verify(null, data, key, sig)
    case 'PS256': {
      const k = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
      return (data, sig) => verify('sha256', data, k, sig)
    }
  }
}
