/**
 * Codes of the errors the client SDK throws; branch on `err.code`, not on the class
 * (as panva/jose does). // wire contract for SDK users
 */
export const CLIENT_ERROR_CODES = {
  /** No session: never signed in, signed out, or the auth service refused the refresh token. */
  SIGNED_OUT: 'RATCHET_CLIENT_SIGNED_OUT',
  /** The auth service could not be reached, or answered 429/5xx: the session is kept, try again later. */
  AUTH_UNAVAILABLE: 'RATCHET_CLIENT_AUTH_UNAVAILABLE',
  /** The auth service refused a sign-up, login or logout (see `status` and `body`). */
  REQUEST_REFUSED: 'RATCHET_CLIENT_REQUEST_REFUSED',
  /**
   * A set-up mistake the client can name: page and auth service on different sites in
   * cookie mode, an insecure context, the page's origin not allowed by the auth
   * service's CORS, the browser not keeping the refresh cookie. The message says which.
   */
  MISCONFIGURED: 'RATCHET_CLIENT_MISCONFIGURED'
} as const

export type ClientErrorCode = typeof CLIENT_ERROR_CODES[keyof typeof CLIENT_ERROR_CODES]

/** An error thrown by the client SDK. */
export class RatchetClientError extends Error {
  override readonly name = 'RatchetClientError'

  /**
   * @param code - one of {@link CLIENT_ERROR_CODES}
   * @param message - what happened, for people
   * @param status - the HTTP status the auth service answered, when it answered
   * @param body - the parsed JSON error body (`{statusCode, code, error, message}`), when there was one
   */
  constructor (
    readonly code: ClientErrorCode,
    message: string,
    readonly status?: number,
    readonly body?: unknown,
    options?: { cause?: unknown }
  ) {
    super(message, options)
  }
}
