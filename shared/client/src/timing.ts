import { decodePayload } from './wire.js'

/**
 * When (ms since the epoch, on the server's clock) an access token should be
 * refreshed: `margin + jitter` seconds before its `exp`, but never before half its
 * lifetime has passed, so that short-lived tokens are not refreshed on every call.
 * The jitter spreads the refreshes of several tabs or clients apart. Returns null for
 * a token without a numeric `exp`: only a 401 then makes the client refresh.
 */
export function refreshAt (accessToken: string, marginSeconds: number, jitterSeconds: number, random: () => number = Math.random): number | null {
  const payload = decodePayload(accessToken)
  const exp = payload?.exp
  if (typeof exp !== 'number') return null
  const iat = typeof payload?.iat === 'number' ? payload.iat : exp
  const lead = Math.max(0, Math.min(marginSeconds + random() * jitterSeconds, (exp - iat) / 2))
  return (exp - lead) * 1000
}

/** The server's `exp` of an access token in ms, or null when it has none. */
export function expiresAt (accessToken: string): number | null {
  const exp = decodePayload(accessToken)?.exp
  return typeof exp === 'number' ? exp * 1000 : null
}

/**
 * How far the server's clock is ahead of ours (ms), measured from the `iat` of a
 * token just received. `iat` has one-second precision and the response took some
 * time, so differences under 2 s are taken for noise and ignored; larger ones are a
 * wrong device clock, which would otherwise make every token look expired (a
 * refresh on every call) or never due.
 */
export function clockOffset (accessToken: string, localNow: number): number {
  const iat = decodePayload(accessToken)?.iat
  if (typeof iat !== 'number') return 0
  const offset = iat * 1000 - localNow
  return Math.abs(offset) < 2000 ? 0 : offset
}
