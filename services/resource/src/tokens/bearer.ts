/** What the Authorization header holds, as far as bearer authentication goes. */
export type BearerCredentials =
  | { kind: 'none' }
  | { kind: 'malformed', reason: string }
  | { kind: 'token', token: string }

const NONE: BearerCredentials = { kind: 'none' }

// RFC 6750 §2.1 b64token: what a token may look like on the wire.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * Reads `Authorization: Bearer <token>`. The scheme is case-insensitive (RFC 7235 §2.1).
 * Another scheme counts as no bearer credentials (401 without an error code, RFC 6750 §3.1);
 * `Bearer` without a well-formed token is a malformed request (400 invalid_request).
 * The token's syntax is checked by the caller only on a cache miss, to keep the hit path short.
 */
export function readBearer (header: string | undefined): BearerCredentials {
  if (header === undefined || header === '') return NONE
  const sp = header.indexOf(' ')
  const scheme = sp === -1 ? header : header.slice(0, sp)
  if (scheme.length !== 6 || scheme.toLowerCase() !== 'bearer') return NONE
  if (sp === -1) return { kind: 'malformed', reason: 'the Bearer scheme needs a token' }
  let start = sp + 1
  while (header.charCodeAt(start) === 32) start++ // 1*SP between scheme and token
  const token = header.slice(start)
  if (token === '') return { kind: 'malformed', reason: 'the Bearer scheme needs a token' }
  return { kind: 'token', token }
}

/** RFC 6750 §2.1 syntax check, done once per token (cache misses only). */
export function isB64Token (token: string): boolean {
  return B64TOKEN.test(token)
}
