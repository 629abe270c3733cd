import { constants, createHmac, createPrivateKey, createSecretKey, sign, type KeyObject } from 'node:crypto'
import type { AccessTokenAlg } from '@ratchet/shared'
import type { KeyRing } from './ring.js'

const segment = (json: string): string => Buffer.from(json).toString('base64url')

/**
 * The claims segment as fast-jwt wrote it (these signers replaced it, and a token
 * minted again on the grace path must match the one minted before, byte for byte,
 * whichever instance or version minted it): the payload's own order, `iat` kept
 * when given (whole seconds) and added last when not, `exp` and `nbf` only when
 * set. A non-integer `exp` is refused, as fast-jwt refused it.
 */
export function claimsSegment (payload: object, nowMs: number = Date.now()): string {
  const p = payload as { iat?: number, exp?: unknown, nbf?: unknown }
  const exp = p.exp === 0 || p.exp === null || p.exp === '' || p.exp === false ? undefined : p.exp
  if (exp !== undefined && (!Number.isInteger(exp) || (exp as number) < 0)) throw new TypeError('the exp claim must be a positive integer')
  const nbf = p.nbf === 0 || p.nbf === null || p.nbf === '' || p.nbf === false ? undefined : p.nbf
  const iat = p.iat !== undefined ? p.iat * 1000 : nowMs
  return segment(JSON.stringify({ ...payload, iat: Math.floor(iat / 1000), exp, nbf }))
}

/** `header.claims.signature` with `signature` over the first two, base64url. */
type Signature = (input: string) => Buffer

/**
 * One-shot signatures by node:crypto (no streaming Sign object per token); ES256
 * straight in JOSE's r‖s form (RFC 7518 §3.4), so no DER to convert.
 */
function asymmetric (alg: AccessTokenAlg, key: KeyObject): Signature {
  if (alg === 'ES256') return (input) => sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  if (alg === 'EdDSA') return (input) => sign(null, Buffer.from(input), key)
  return (input) => sign('sha256', Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
}

/** A compact JWS signer for one key: the header segment is encoded once. */
function compactSigner (header: { alg: string, typ: string, kid: string }, signature: Signature): (payload: object) => string {
  // fast-jwt's header order (alg, typ, kid), so tokens read as they did
  const head = segment(JSON.stringify({ alg: header.alg, typ: header.typ, kid: header.kid })) + '.'
  return (payload) => {
    const input = head + claimsSegment(payload)
    return input + '.' + signature(input).toString('base64url')
  }
}

/**
 * A signer that follows the ring's current key of one kind: built by `build` once per
 * key (the key's parse is the expensive part, see the README) and built anew when a
 * rotation makes another key current.
 */
function rotatingSigner<P extends object> (getRing: () => KeyRing, current: (ring: KeyRing) => string, build: (ring: KeyRing, kid: string) => (payload: object) => string): (payload: P) => string {
  let signer: { kid: string, sign: (payload: object) => string } | undefined
  return (payload) => {
    const ring = getRing()
    const kid = current(ring)
    if (signer?.kid !== kid) signer = { kid, sign: build(ring, kid) }
    return signer.sign(payload)
  }
}

/** Signs with the ring's current signing key (ES256, EdDSA or PS256), `typ` in the header. */
export function currentKeySigner<P extends object> (getRing: () => KeyRing, typ: string): (payload: P) => string {
  return rotatingSigner<P>(getRing, (ring) => ring.signingKey.kid, (ring, kid) => {
    const alg = ring.signingKey.alg
    return compactSigner({ alg, typ, kid }, asymmetric(alg, createPrivateKey(ring.signingPem())))
  })
}

/** Signs HS256 with the ring's current refresh-token key (an imported HMAC key per kid), `typ` in the header. */
export function currentRefreshSigner<P extends object> (getRing: () => KeyRing, typ: string): (payload: P) => string {
  return rotatingSigner<P>(getRing, (ring) => ring.refreshKey.kid, (ring, kid) => {
    const secret = ring.refreshSecret(kid)
    if (secret === undefined) throw new Error('the current refresh key is not on the key ring')
    const key = createSecretKey(secret)
    return compactSigner({ alg: 'HS256', typ, kid }, (input) => createHmac('sha256', key).update(input).digest())
  })
}
