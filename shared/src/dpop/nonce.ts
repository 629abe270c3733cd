import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Server nonces (RFC 9449 §8) without server state: a nonce names a time window and
 * carries an HMAC of it, so every instance holding the same secret accepts it. A nonce
 * is accepted in its own window and the next, so one handed out at a window's end still
 * works for a full window.
 */
export function createNonceSource (secret: Uint8Array, windowSeconds: number) {
  if (secret.length < 16) throw new RangeError('the nonce secret needs at least 16 bytes')
  const windowMs = windowSeconds * 1000
  const mac = (w: number) => createHmac('sha256', secret).update(`dpop-nonce:${w}`).digest().subarray(0, 18)
  const encode = (w: number) => `${w.toString(36)}.${mac(w).toString('base64url')}`

  return {
    /** The nonce to hand out now (`DPoP-Nonce`). */
    current (nowMs: number): string {
      return encode(Math.floor(nowMs / windowMs))
    },
    /** Whether `nonce` is one of ours and still fresh. */
    accepts (nonce: unknown, nowMs: number): boolean {
      if (typeof nonce !== 'string' || nonce.length > 64) return false
      const dot = nonce.indexOf('.')
      if (dot <= 0 || !/^[0-9a-z]+$/.test(nonce.slice(0, dot))) return false
      const w = parseInt(nonce.slice(0, dot), 36)
      const now = Math.floor(nowMs / windowMs)
      if (w !== now && w !== now - 1) return false
      const given = Buffer.from(nonce.slice(dot + 1), 'base64url')
      const want = mac(w)
      return given.length === want.length && timingSafeEqual(given, want)
    }
  }
}

export type NonceSource = ReturnType<typeof createNonceSource>
