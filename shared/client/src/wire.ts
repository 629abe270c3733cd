/**
 * The few pieces of the auth service's wire format the client reads. They are
 * restated here rather than imported from @ratchet/shared, so that the client
 * stays a package of its own with no runtime dependencies; the services' tests
 * pin the same strings on their side. So `duplicates` pairs TokenResponse with
 * shared/src/tokens.ts and parseBearerChallenge with shared/src/bearer.ts on
 * purpose: two copies, not one shared by a dependency.
 */

/** A token response (RFC 6749 §5.1); `refresh_token` is absent in cookie mode. */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer' | 'DPoP'
  expires_in: number
  refresh_token: string
  refresh_token_expires_in: number
  scope: string
}

/** The `error_description` the resource service sends for an expired token. // wire contract */
export const EXPIRED_TOKEN_DESCRIPTION = 'The access token expired'

/** A JWT's payload, unverified (for deciding when to refresh, and for display), or null. */
export function decodePayload (token: string): Record<string, unknown> | null {
  const part = token.split('.')[1]
  if (part === undefined) return null
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/')
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes))
    return value !== null && typeof value === 'object' ? value as Record<string, unknown> : null
  } catch {
    return null
  }
}

/** The auth-params of an RFC 6750 `WWW-Authenticate: Bearer ...` challenge, or null for another scheme. */
export function parseBearerChallenge (header: string): Record<string, string> | null {
  const m = /^\s*bearer\b(.*)$/i.exec(header)
  if (!m) return null
  const out: Record<string, string> = {}
  const re = /([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g
  for (const p of (m[1] ?? '').matchAll(re)) {
    out[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '')
  }
  return out
}
