import { createHash } from 'node:crypto'

/** The members RFC 7638 §3.2 hashes, per key type, in lexicographic order. */
const REQUIRED: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n']
}

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url): the value of `cnf.jkt` (RFC 9449 §6.1).
 * Throws a TypeError for a key type it does not know or a member that is missing.
 */
export function jwkThumbprint (jwk: Record<string, unknown>): string {
  const kty = jwk.kty
  const members = typeof kty === 'string' ? REQUIRED[kty] : undefined
  if (members === undefined) throw new TypeError('unsupported key type (kty)')
  const canonical: Record<string, string> = {}
  for (const m of members) {
    const v = jwk[m]
    if (typeof v !== 'string' || v === '') throw new TypeError(`the key lacks its ${m} member`)
    canonical[m] = v
  }
  // JSON.stringify keeps insertion order, which is the sorted order above
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url')
}

/** `ath` of RFC 9449 §4.2: base64url(SHA-256(ASCII access token)). */
export function accessTokenHash (accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url')
}
