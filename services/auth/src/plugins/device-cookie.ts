import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { KeyRing } from '../keys/ring.js'

/**
 * OWASP's device cookie (Slow Down Online Guessing Attacks with Device
 * Cookies): a browser that signed in to an account before carries a signed
 * cookie naming that account, and its login attempts are counted against a
 * budget of their own. Guessing from anywhere else exhausts the account's
 * shared budget and slows the guesser, not the owner on a known device.
 * `__Host-` for the same reasons as the refresh cookie. // wire contract
 */
export const DEVICE_COOKIE = '__Host-ratchet_device'

export interface DeviceCookieOptions {
  /** the key ring of the moment: the cookie's MAC key is derived from its refresh secrets */
  ring: () => KeyRing
  /** ms a cookie stays valid after the login that issued it */
  maxAgeMs: number
}

const LABEL = 'ratchet device cookie v1'
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url')

/**
 * Signs and checks device cookies: `<kid>.<payload>.<mac>`, the payload
 * `{a: account key, d: device id, t: issued ms}`. The MAC key is an HMAC of
 * the refresh secret with a fixed label, so it is shared by every instance,
 * rotates with that secret, and can never verify a token (or the reverse).
 */
export function createDeviceCookies (opts: DeviceCookieOptions) {
  const macKey = (secret: Buffer) => createHmac('sha256', secret).update(LABEL).digest()
  const mac = (secret: Buffer, kid: string, payload: string) => createHmac('sha256', macKey(secret)).update(`${kid}.${payload}`).digest()

  return {
    maxAgeSeconds: Math.floor(opts.maxAgeMs / 1000),

    /** A new cookie value for `account` (an opaque per-account key, never the address). */
    issue (account: string, now: number): string {
      const ring = opts.ring()
      const kid = ring.refreshKey.kid
      const payload = b64(JSON.stringify({ a: account, d: randomBytes(16).toString('base64url'), t: now }))
      return `${kid}.${payload}.${b64(mac(ring.refreshSecret(kid)!, kid, payload))}`
    },

    /** The device id when `value` is a valid, unexpired cookie of `account`; undefined otherwise. */
    deviceOf (value: string | undefined, account: string, now: number): string | undefined {
      if (value === undefined || value.length > 512) return undefined
      const [kid, payload, tag, extra] = value.split('.')
      if (kid === undefined || payload === undefined || tag === undefined || extra !== undefined) return undefined
      const secret = opts.ring().refreshSecret(kid)
      if (secret === undefined) return undefined
      const expected = mac(secret, kid, payload)
      const given = Buffer.from(tag, 'base64url')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
      let claims: { a?: unknown, d?: unknown, t?: unknown }
      try { claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) } catch { return undefined }
      if (claims.a !== account || typeof claims.d !== 'string' || typeof claims.t !== 'number') return undefined
      if (now - claims.t > opts.maxAgeMs || claims.t > now + 60_000) return undefined
      return claims.d
    }
  }
}

export type DeviceCookies = ReturnType<typeof createDeviceCookies>
