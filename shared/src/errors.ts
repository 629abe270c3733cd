import createError from '@fastify/error'
import { bearerChallenge, BEARER_REALM, type BearerError } from './bearer.js'

/** RFC 6749 §5.2 error codes (plus RFC 7009's unsupported_token_type and RFC 9449's DPoP codes). // wire contract */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'unsupported_token_type' | 'temporarily_unavailable' | 'server_error' | 'invalid_dpop_proof' | 'use_dpop_nonce'

/** What an entry sends on the wire besides its body. */
export interface WireForm {
  /** HTTP status of the Fastify-shaped answer */
  status: number
  /** its RFC 6749 §5.2 code on /oauth/*; absent: invalid_request (4xx) or server_error (5xx) */
  oauth?: OAuthErrorCode
  /** a bearer failure: its RFC 6750 §3.1 code, or `null` for the bare challenge (no credentials sent) */
  bearer?: BearerError | null
}

/** A catalogue error: its code, status and wire form travel with it to the error handler. */
export interface RatchetError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly oauth: OAuthErrorCode | undefined
  /** the RFC 6750 `WWW-Authenticate` value of a bearer failure */
  readonly challenge: string | undefined
  /** seconds, for a 429's Retry-After */
  readonly retryAfter: number | undefined
}

type Args = [] | [string] | [number]

/** How a bearer entry's arguments read in its challenge. */
interface ChallengeText<A extends Args> { description?: (...args: A) => string, scope?: (...args: A) => string }

export interface ErrorClass<A extends Args> {
  new (...args: A): RatchetError
  readonly code: string
  readonly message: string
  readonly wire: Readonly<WireForm>
}

function entry<A extends Args = []> (code: string, message: string, wire: WireForm, text: ChallengeText<A> = {}): ErrorClass<A> {
  const Base = createError<A>(code, message, wire.status) as unknown as new (...args: A) => Error & { code: string, statusCode: number }
  return class extends Base implements RatchetError {
    static readonly code = code
    static readonly message = message
    static readonly wire = Object.freeze({ ...wire })
    readonly oauth: OAuthErrorCode | undefined
    readonly challenge: string | undefined
    readonly retryAfter: number | undefined
    constructor (...args: A) {
      super(...args)
      const arg = args[0]
      this.oauth = wire.oauth
      this.retryAfter = wire.status === 429 && typeof arg === 'number' ? arg : undefined
      this.challenge = wire.bearer === undefined
        ? undefined
        : bearerChallenge(BEARER_REALM, wire.bearer ?? undefined, text.description?.(...args), text.scope?.(...args))
    }
  }
}

/**
 * The error catalogue: each key equals its code, codes are stable (clients
 * branch on them), and each entry knows its wire form: status, OAuth code,
 * RFC 6750 challenge. Bodies use Fastify's `{statusCode, code, error, message}`
 * shape, except on /oauth/* where RFC 6749 §5.2 rules. docs/errors.md lists
 * them; shared/test/errors.test.ts keeps the two in step. // wire contract
 */
export const errors = {
  RATCHET_INVALID_CREDENTIALS: entry('RATCHET_INVALID_CREDENTIALS', 'Invalid email or password', { status: 401 }),
  RATCHET_EMAIL_TAKEN: entry('RATCHET_EMAIL_TAKEN', 'An account with this email already exists', { status: 409 }),
  RATCHET_INVALID_EMAIL: entry<[string]>('RATCHET_INVALID_EMAIL', 'body/email %s', { status: 400 }),
  RATCHET_INVALID_REFRESH_TOKEN: entry<[string]>('RATCHET_INVALID_REFRESH_TOKEN', 'Invalid refresh token: %s', { status: 401, oauth: 'invalid_grant' }),
  RATCHET_INVALID_SCOPE: entry<[string]>('RATCHET_INVALID_SCOPE', 'Invalid scope: %s', { status: 400, oauth: 'invalid_scope' }),
  RATCHET_INVALID_ACCESS_TOKEN: entry<[string]>('RATCHET_INVALID_ACCESS_TOKEN', 'Invalid access token: %s', { status: 401, oauth: 'invalid_grant', bearer: 'invalid_token' }, { description: (d) => d }),
  RATCHET_MISSING_CREDENTIALS: entry('RATCHET_MISSING_CREDENTIALS', 'Authentication required: send an access token as Authorization: Bearer <token>', { status: 401, bearer: null }),
  RATCHET_MALFORMED_AUTHORIZATION: entry<[string]>('RATCHET_MALFORMED_AUTHORIZATION', 'Malformed Authorization header: %s', { status: 400, oauth: 'invalid_request', bearer: 'invalid_request' }, { description: (reason) => `Malformed Authorization header: ${reason}` }),
  RATCHET_INSUFFICIENT_SCOPE: entry<[string]>('RATCHET_INSUFFICIENT_SCOPE', 'The access token lacks the scope %s', { status: 403, bearer: 'insufficient_scope' }, { description: (scope) => `The request needs the ${scope} scope`, scope: (scope) => scope }),
  RATCHET_SESSION_NOT_FOUND: entry('RATCHET_SESSION_NOT_FOUND', 'No such session', { status: 404 }),
  RATCHET_INVALID_CURSOR: entry<[string]>('RATCHET_INVALID_CURSOR', 'querystring/cursor is invalid: %s', { status: 400 }),
  RATCHET_NOTE_NOT_FOUND: entry('RATCHET_NOTE_NOT_FOUND', 'No such note', { status: 404 }),
  RATCHET_NOT_FOUND: entry<[string]>('RATCHET_NOT_FOUND', 'Route %s not found', { status: 404 }),
  RATCHET_DEPENDENCY_UNAVAILABLE: entry<[string]>('RATCHET_DEPENDENCY_UNAVAILABLE', '%s is unavailable, try again shortly', { status: 503, oauth: 'temporarily_unavailable' }),
  RATCHET_BUSY: entry('RATCHET_BUSY', 'Too many password checks in progress, try again shortly', { status: 503, oauth: 'temporarily_unavailable' }),
  RATCHET_NOT_READY: entry<[string]>('RATCHET_NOT_READY', 'Not ready: %s', { status: 503, oauth: 'temporarily_unavailable' }),
  RATCHET_RATE_LIMITED: entry<[number]>('RATCHET_RATE_LIMITED', 'Too many requests, retry in %d seconds', { status: 429 }),
  RATCHET_LOGIN_THROTTLED: entry<[number]>('RATCHET_LOGIN_THROTTLED', 'Too many failed sign-ins for this account, retry in %d seconds', { status: 429 }),
  RATCHET_REFRESH_TOKEN_REQUIRED: entry('RATCHET_REFRESH_TOKEN_REQUIRED', 'body must have property refresh_token (or send the refresh-token cookie)', { status: 400 }),
  RATCHET_CSRF_REJECTED: entry<[string]>('RATCHET_CSRF_REJECTED', 'Cookie request refused: %s', { status: 403 }),
  // 401 at the resource service (RFC 9449 §7.1); the token-issuing routes answer 400 (§5)
  RATCHET_INVALID_DPOP_PROOF: entry<[string]>('RATCHET_INVALID_DPOP_PROOF', 'Invalid DPoP proof: %s', { status: 401, oauth: 'invalid_dpop_proof' }),
  RATCHET_USE_DPOP_NONCE: entry<[string]>('RATCHET_USE_DPOP_NONCE', 'DPoP nonce required: %s', { status: 400, oauth: 'use_dpop_nonce' }),
  RATCHET_METRICS_UNAUTHORIZED: entry('RATCHET_METRICS_UNAUTHORIZED', 'Metrics need the scrape token: send Authorization: Bearer <METRICS_TOKEN>', { status: 401, bearer: null }),
  RATCHET_SSF_UNAUTHORIZED: entry('RATCHET_SSF_UNAUTHORIZED', 'Shared Signals receiver credentials required (HTTP Basic)', { status: 401 }),
  RATCHET_SSF_INVALID_STREAM: entry<[string]>('RATCHET_SSF_INVALID_STREAM', 'Invalid stream configuration: %s', { status: 400 }),
  RATCHET_SSF_STREAM_EXISTS: entry('RATCHET_SSF_STREAM_EXISTS', 'This receiver already has a stream: read, update or delete it', { status: 409 }),
  RATCHET_SSF_STREAM_NOT_FOUND: entry('RATCHET_SSF_STREAM_NOT_FOUND', 'No such stream for this receiver', { status: 404 }),
  /** a 4xx a library raised without a code of its own (its message is kept) */
  RATCHET_ERROR: entry<[string]>('RATCHET_ERROR', '%s', { status: 400 }),
  /** anything unexpected: logged with its cause, answered without it */
  RATCHET_INTERNAL: entry('RATCHET_INTERNAL', 'Internal server error', { status: 500, oauth: 'server_error' }),
  /** never on the wire: a service refuses to start, naming the variable */
  RATCHET_CONFIG_INVALID: entry<[string]>('RATCHET_CONFIG_INVALID', 'invalid configuration: %s', { status: 500 })
} as const

export type ErrorCode = keyof typeof errors

/** The catalogue entry of `code`, if it is one of ours. */
export function catalogued (code: unknown): ErrorClass<Args> | undefined {
  return typeof code === 'string' && Object.hasOwn(errors, code) ? errors[code as ErrorCode] as ErrorClass<Args> : undefined
}
