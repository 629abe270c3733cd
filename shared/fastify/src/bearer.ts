import { bearerChallenge, errors, EXPIRED_TOKEN_DESCRIPTION, type BearerError } from '@ratchet/shared'

/** The realm named in every challenge. // wire contract */
export const REALM = 'ratchet'

/** error_description for a token whose session or user was revoked. // wire contract */
export const REVOKED_TOKEN_DESCRIPTION = 'The access token was revoked'

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
 * `Bearer` without a token is a malformed request (400 invalid_request). The token's
 * syntax is left to `isB64Token`, so the resource service's cache-hit path skips it.
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

/** RFC 6750 §2.1 syntax check. */
export function isB64Token (token: string): boolean {
  return B64TOKEN.test(token)
}

/** A catalogue error carrying the RFC 6750 challenge the error handler sends with it. */
export type BearerFailure = Error & { statusCode: number, code: string, challenge: string }

function withChallenge (err: Error, error?: BearerError, description?: string, scope?: string): BearerFailure {
  return Object.assign(err, { challenge: bearerChallenge(REALM, error, description, scope) }) as BearerFailure
}

/** 401 with no error code: no credentials were sent (RFC 6750 §3.1). */
export function missingCredentials (): BearerFailure {
  return withChallenge(new errors.RATCHET_MISSING_CREDENTIALS())
}

/** 400 invalid_request: the Authorization header is not a well-formed bearer header. */
export function malformedHeader (reason: string): BearerFailure {
  return withChallenge(new errors.RATCHET_MALFORMED_AUTHORIZATION(reason), 'invalid_request', `Malformed Authorization header: ${reason}`)
}

/** 401 invalid_token; `description` tells the client what to do (refresh on expired, log in again otherwise). */
export function invalidToken (description: string): BearerFailure {
  return withChallenge(new errors.RATCHET_INVALID_ACCESS_TOKEN(description), 'invalid_token', description)
}

export function expiredToken (): BearerFailure {
  return invalidToken(EXPIRED_TOKEN_DESCRIPTION)
}

export function revokedToken (): BearerFailure {
  return invalidToken(REVOKED_TOKEN_DESCRIPTION)
}

/** 403 insufficient_scope naming the scope the request needs. */
export function insufficientScope (scope: string): BearerFailure {
  return withChallenge(new errors.RATCHET_INSUFFICIENT_SCOPE(scope), 'insufficient_scope', `The request needs the ${scope} scope`, scope)
}

/**
 * The bearer token of a request, or the RFC 6750 failure to answer with: for the
 * routes that read a token now and then (the auth service's); the resource
 * service's hot path reads the parts itself to keep its cache hit short.
 */
export function requireBearer (header: string | undefined): string {
  const creds = readBearer(header)
  if (creds.kind === 'none') throw missingCredentials()
  if (creds.kind === 'malformed') throw malformedHeader(creds.reason)
  if (!isB64Token(creds.token)) throw malformedHeader('the bearer token has characters a token cannot have')
  return creds.token
}
