import type { FastifyRequest } from 'fastify'
import { bearerChallenge, errors } from '@ratchet/shared'

const REALM = 'ratchet'

function withChallenge<E extends Error> (err: E, challenge: string): E {
  return Object.assign(err, { wwwAuthenticate: challenge })
}

/**
 * Reads `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is
 * case-insensitive). Returns undefined when no credentials were sent.
 */
export function readBearer (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined || header === '') return undefined
  const m = /^(\S+)(?: +(\S*))?\s*$/.exec(header)
  // another scheme (Basic, ...) is not a bearer credential at all: RFC 6750 §3.1
  // answers that with a bare challenge, not invalid_request
  if (m !== null && m[1]!.toLowerCase() !== 'bearer') return undefined
  if (m === null) {
    throw withChallenge(new errors.RATCHET_MALFORMED_AUTHORIZATION('expected "Bearer <token>"'), bearerChallenge(REALM, 'invalid_request', 'expected "Bearer <token>"'))
  }
  const token = m[2] ?? ''
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    throw withChallenge(new errors.RATCHET_MALFORMED_AUTHORIZATION('the bearer token is missing or has invalid characters'), bearerChallenge(REALM, 'invalid_request', 'the bearer token is missing or malformed'))
  }
  return token
}

export function missingCredentials (): Error {
  return withChallenge(new errors.RATCHET_MISSING_CREDENTIALS(), bearerChallenge(REALM))
}

/** A 401 invalid_token carrying its RFC 6750 challenge. */
export function invalidToken (err: Error): Error {
  const description = err.message.replace(/^Invalid access token: /, '')
  return withChallenge(err, bearerChallenge(REALM, 'invalid_token', description))
}
