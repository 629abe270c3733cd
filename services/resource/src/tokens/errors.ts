import { bearerChallenge, errors, EXPIRED_TOKEN_DESCRIPTION, type BearerError } from '@ratchet/shared'

/** The realm named in every challenge. // wire contract */
export const REALM = 'ratchet'

/** error_description for a token whose session or user was revoked. // wire contract */
export const REVOKED_TOKEN_DESCRIPTION = 'The access token was revoked'

/** A catalogue error carrying the RFC 6750 challenge the errors plugin sends with it. */
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
