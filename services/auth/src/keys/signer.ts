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
 * Signs with the ring's current signing key, `typ` in the header: a signer built
 * once per key (the private key's parse is the expensive part, see the README) and
 * built anew when a rotation makes another key current.
 */
export function currentKeySigner<P extends object> (getRing: () => KeyRing, typ: string): (payload: P) => string {
  let current: { kid: string, sign: (payload: P) => string } | undefined
  return (payload) => {
    const ring = getRing()
    const k = ring.signingKey
    if (current?.kid !== k.kid) {
      current = { kid: k.kid, sign: compactSigner({ alg: k.alg, typ, kid: k.kid }, asymmetric(k.alg, createPrivateKey(ring.signingPem()))) }
    }
    return current.sign(payload)
  }
}

/** Signs HS256 with the ring's current refresh-token key (an imported HMAC key per kid), `typ` in the header. */
export function currentRefreshSigner<P extends object> (getRing: () => KeyRing, typ: string): (payload: P) => string {
  let current: { kid: string, sign: (payload: P) => string } | undefined
  return (payload) => {
    const ring = getRing()
    const k = ring.refreshKey
    if (current?.kid !== k.kid) {
      const secret = ring.refreshSecret(k.kid)
      if (secret === undefined) throw new Error('the current refresh key is not on the key ring')
      const key = createSecretKey(secret)
      current = { kid: k.kid, sign: compactSigner({ alg: 'HS256', typ, kid: k.kid }, (input) => createHmac('sha256', key).update(input).digest()) }
    }
    return current.sign(payload)
  }
}
