import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto'

/** How one JOSE algorithm checks a signature, and which JWKs it accepts. */
interface Alg {
  kty: string
  crv?: readonly string[]
  hash: string | null
  check: (data: Buffer, key: KeyObject, signature: Buffer) => boolean
}

const ec = (crv: string, hash: string): Alg => ({
  kty: 'EC',
  crv: [crv],
  hash,
  // JWS carries R || S (RFC 7518 §3.4), not DER
  check: (data, key, sig) => verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig)
})
const pss = (hash: string, saltLength: number): Alg => ({
  kty: 'RSA',
  hash,
  check: (data, key, sig) => verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig)
})
const pkcs1 = (hash: string): Alg => ({ kty: 'RSA', hash, check: (data, key, sig) => verify(hash, data, key, sig) })

/**
 * The asymmetric JWS algorithms a proof may use (RFC 9449 §4.3 check 5). `none` and
 * the HMAC family are absent on purpose: a proof must show a private key, and a
 * shared secret or no signature shows nothing.
 */
export const DPOP_ALGORITHMS: Record<string, Alg> = {
  ES256: ec('P-256', 'sha256'),
  ES384: ec('P-384', 'sha384'),
  ES512: ec('P-521', 'sha512'),
  EdDSA: { kty: 'OKP', crv: ['Ed25519', 'Ed448'], hash: null, check: (data, key, sig) => verify(null, data, key, sig) },
  PS256: pss('sha256', 32),
  PS384: pss('sha384', 48),
  PS512: pss('sha512', 64),
  RS256: pkcs1('sha256'),
  RS384: pkcs1('sha384'),
  RS512: pkcs1('sha512')
}

/** Names accepted in DPOP_ALGS. */
export const DPOP_ALG_NAMES = Object.keys(DPOP_ALGORITHMS)

// members that only a private (or symmetric) key has: a proof carrying one has leaked its key
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/** Imports a proof's `jwk` for `alg`, or names why it cannot be used. */
export function importProofKey (alg: Alg, jwk: Record<string, unknown>): KeyObject | string {
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) return 'the jwk header must hold a public key only, never private key material'
  if (jwk.kty !== alg.kty) return `the jwk key type does not fit the algorithm (want kty ${alg.kty})`
  if (alg.crv !== undefined && (typeof jwk.crv !== 'string' || !alg.crv.includes(jwk.crv))) return `the jwk curve does not fit the algorithm (want crv ${alg.crv.join(' or ')})`
  let key: KeyObject
  try {
    // only the public members are passed: nothing else in the header reaches the parser
    const pub = alg.kty === 'RSA' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : alg.kty === 'EC' ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: 'OKP', crv: jwk.crv, x: jwk.x }
    key = createPublicKey({ key: pub as never, format: 'jwk' })
  } catch {
    return 'the jwk header is not a valid public key'
  }
  if (alg.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return 'the jwk RSA key is shorter than 2048 bits'
  return key
}

export type { Alg as DpopAlgorithm }
