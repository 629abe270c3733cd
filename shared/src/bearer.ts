/** The realm named in every bearer challenge. // wire contract */
export const BEARER_REALM = 'ratchet'

/** RFC 6750 §3 error codes. // wire contract */
export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

function quote (value: string): string {
  // quoted-string per RFC 7235; the descriptions we write never hold quotes, but be safe
  return `"${value.replace(/[\\"]/g, '\\$&')}"`
}

/** Builds a `WWW-Authenticate: Bearer ...` challenge. */
export function bearerChallenge (realm: string, error?: BearerError, description?: string, scope?: string): string {
  const params = [`realm=${quote(realm)}`]
  if (error) params.push(`error=${quote(error)}`)
  if (description) params.push(`error_description=${quote(description)}`)
  if (scope) params.push(`scope=${quote(scope)}`)
  return `Bearer ${params.join(', ')}`
}

/** Parses a challenge's auth-params (for clients). */
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

/** The `error_description` the resource service sends for an expired token; clients refresh on it. // wire contract */
export const EXPIRED_TOKEN_DESCRIPTION = 'The access token expired'
