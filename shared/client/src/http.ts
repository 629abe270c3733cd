import type { TokenResponse } from './wire.js'
import { CLIENT_ERROR_CODES, RatchetClientError } from './errors.js'

/** The `fetch` signature the client needs; the platform's `fetch` fits. */
export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

/** An answer of the auth service: its status and parsed JSON body (null when none). */
export interface AuthAnswer { status: number, body: unknown }

/** How a request to the auth service carries the refresh token. */
export interface Delivery {
  /** Extra request headers (the cookie mode's delivery and CSRF headers, a Bearer token). */
  headers?: Record<string, string>
  /** `include` only in cookie mode; otherwise no cookie is sent, so none can be ridden cross-site. */
  credentials: RequestCredentials
}

/** POSTs JSON to the auth service; a network failure becomes AUTH_UNAVAILABLE. */
export async function postJson (fetchFn: FetchLike, url: string, body: unknown, delivery: Delivery = { credentials: 'omit' }): Promise<AuthAnswer> {
  let res: Response
  try {
    res = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...delivery.headers },
      body: JSON.stringify(body),
      credentials: delivery.credentials
    })
  } catch (err) {
    throw await unreachable(fetchFn, url, err)
  }
  const text = await res.text()
  let parsed: unknown = null
  if (text !== '') {
    try { parsed = JSON.parse(text) } catch { parsed = null }
  }
  return { status: res.status, body: parsed }
}

/**
 * The error for a request that got no answer. In a page, a CORS refusal looks the same
 * as a server that is down, so the client asks again without CORS (an opaque answer
 * still proves the server is up) to say which it was.
 */
async function unreachable (fetchFn: FetchLike, url: string, cause: unknown): Promise<RatchetClientError> {
  const page = pageOrigin()
  if (page !== null) {
    const answered = await fetchFn(new URL('/health/live', url), { mode: 'no-cors', credentials: 'omit' }).then(() => true, () => false)
    if (answered) {
      return new RatchetClientError(CLIENT_ERROR_CODES.MISCONFIGURED, `the auth service at ${new URL(url).origin} answered, but its CORS does not allow this page's origin ${page}: add it to the auth service's WEB_ORIGIN or CORS_ORIGINS`, undefined, undefined, { cause })
    }
  }
  return new RatchetClientError(CLIENT_ERROR_CODES.AUTH_UNAVAILABLE, `the auth service could not be reached (${url})`, undefined, undefined, { cause })
}

/** The page's origin when running in a browser page, else null (Node, workers). */
export function pageOrigin (): string | null {
  const g = globalThis as { document?: unknown, location?: { origin?: string } }
  return typeof g.document === 'object' && typeof g.location?.origin === 'string' ? g.location.origin : null
}

/** 429 and 5xx mean "later", not "no": the session is kept. */
export function isTransient (status: number): boolean {
  return status === 429 || status >= 500
}

/** The error for an answer that is not a success, naming the server's message when it sent one. */
export function answerError (what: string, answer: AuthAnswer): RatchetClientError {
  const message = (answer.body as { message?: unknown } | null)?.message
  const detail = typeof message === 'string' ? `: ${message}` : ''
  const code = isTransient(answer.status) ? CLIENT_ERROR_CODES.AUTH_UNAVAILABLE : CLIENT_ERROR_CODES.REQUEST_REFUSED
  return new RatchetClientError(code, `${what} failed with ${answer.status}${detail}`, answer.status, answer.body)
}

/** Checks the fields of a token response the client relies on (the refresh token only when it comes in the body). */
export function asTokenResponse (what: string, answer: AuthAnswer, refreshInBody: boolean): TokenResponse {
  const b = answer.body as Partial<TokenResponse> | null
  if (b === null || typeof b !== 'object' || typeof b.access_token !== 'string' || (refreshInBody && typeof b.refresh_token !== 'string')) {
    throw new RatchetClientError(CLIENT_ERROR_CODES.AUTH_UNAVAILABLE, `${what} answered ${answer.status} without a token response`, answer.status, answer.body)
  }
  return b as TokenResponse
}
