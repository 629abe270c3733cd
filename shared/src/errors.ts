import createError from '@fastify/error'

/**
 * The error catalogue: each key equals its code, and codes are stable (clients
 * branch on them). Bodies use Fastify's `{statusCode, code, error, message}`
 * shape, except on /oauth/* where RFC 6749 §5.2 rules. // wire contract
 */
export const errors = {
  RATCHET_INVALID_CREDENTIALS: createError('RATCHET_INVALID_CREDENTIALS', 'Invalid email or password', 401),
  RATCHET_EMAIL_TAKEN: createError('RATCHET_EMAIL_TAKEN', 'An account with this email already exists', 409),
  RATCHET_INVALID_REFRESH_TOKEN: createError<[string]>('RATCHET_INVALID_REFRESH_TOKEN', 'Invalid refresh token: %s', 401),
  RATCHET_INVALID_ACCESS_TOKEN: createError<[string]>('RATCHET_INVALID_ACCESS_TOKEN', 'Invalid access token: %s', 401),
  RATCHET_MISSING_CREDENTIALS: createError('RATCHET_MISSING_CREDENTIALS', 'Authentication required: send an access token as Authorization: Bearer <token>', 401),
  RATCHET_MALFORMED_AUTHORIZATION: createError<[string]>('RATCHET_MALFORMED_AUTHORIZATION', 'Malformed Authorization header: %s', 400),
  RATCHET_INSUFFICIENT_SCOPE: createError<[string]>('RATCHET_INSUFFICIENT_SCOPE', 'The access token lacks the scope %s', 403),
  RATCHET_SESSION_NOT_FOUND: createError('RATCHET_SESSION_NOT_FOUND', 'No such session', 404),
  RATCHET_INVALID_EMAIL: createError<[string]>('RATCHET_INVALID_EMAIL', 'body/email %s', 400),
  RATCHET_INVALID_CURSOR: createError<[string]>('RATCHET_INVALID_CURSOR', 'querystring/cursor is invalid: %s', 400),
  RATCHET_NOTE_NOT_FOUND: createError('RATCHET_NOTE_NOT_FOUND', 'No such note', 404),
  RATCHET_DEPENDENCY_UNAVAILABLE: createError<[string]>('RATCHET_DEPENDENCY_UNAVAILABLE', '%s is unavailable, try again shortly', 503),
  RATCHET_BUSY: createError('RATCHET_BUSY', 'Too many password checks in progress, try again shortly', 503),
  RATCHET_NOT_READY: createError<[string]>('RATCHET_NOT_READY', 'Not ready: %s', 503),
  RATCHET_RATE_LIMITED: createError<[number]>('RATCHET_RATE_LIMITED', 'Too many requests, retry in %d seconds', 429),
  RATCHET_LOGIN_THROTTLED: createError<[number]>('RATCHET_LOGIN_THROTTLED', 'Too many failed sign-ins for this account, retry in %d seconds', 429),
  RATCHET_REFRESH_TOKEN_REQUIRED: createError('RATCHET_REFRESH_TOKEN_REQUIRED', 'body must have property refresh_token (or send the refresh-token cookie)', 400),
  RATCHET_CSRF_REJECTED: createError<[string]>('RATCHET_CSRF_REJECTED', 'Cookie request refused: %s', 403),
  // 401 at the resource service (RFC 9449 §7.1); the token-issuing routes answer 400 (§5)
  RATCHET_INVALID_DPOP_PROOF: createError<[string]>('RATCHET_INVALID_DPOP_PROOF', 'Invalid DPoP proof: %s', 401),
  RATCHET_USE_DPOP_NONCE: createError<[string]>('RATCHET_USE_DPOP_NONCE', 'DPoP nonce required: %s', 400),
  RATCHET_SSF_UNAUTHORIZED: createError('RATCHET_SSF_UNAUTHORIZED', 'Shared Signals receiver credentials required (HTTP Basic)', 401),
  RATCHET_SSF_INVALID_STREAM: createError<[string]>('RATCHET_SSF_INVALID_STREAM', 'Invalid stream configuration: %s', 400),
  RATCHET_SSF_STREAM_EXISTS: createError('RATCHET_SSF_STREAM_EXISTS', 'This receiver already has a stream: read, update or delete it', 409),
  RATCHET_SSF_STREAM_NOT_FOUND: createError('RATCHET_SSF_STREAM_NOT_FOUND', 'No such stream for this receiver', 404)
} as const

export type ErrorCode = keyof typeof errors
