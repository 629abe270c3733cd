import type { TokenResponse } from '../tokens.js'
import { CLIENT_ERROR_CODES, RatchetClientError } from './errors.js'

/** The `fetch` signature the client needs; the platform's `fetch` fits. */
export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

/** An answer of the auth service: its status and parsed JSON body (null when none). */
export interface AuthAnswer { status: number, body: unknown }

/** POSTs JSON to the auth service; a network failure becomes AUTH_UNAVAILABLE. */
export async function postJson (fetchFn: FetchLike, url: string, body: unknown): Promise<AuthAnswer> {
  let res: Response
  try {
    res = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      // tokens travel in the body, never in cookies: nothing for a cross-site request to ride on
      credentials: 'omit'
    })
  } catch (err) {
    throw new RatchetClientError(CLIENT_ERROR_CODES.AUTH_UNAVAILABLE, `the auth service could not be reached (${url})`, undefined, undefined, { cause: err })
  }
  const text = await res.text()
  let parsed: unknown = null
  if (text !== '') {
    try { parsed = JSON.parse(text) } catch { parsed = null }
  }
  return { status: res.status, body: parsed }
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

/** Checks the fields of a token response the client relies on. */
export function asTokenResponse (what: string, answer: AuthAnswer): TokenResponse {
  const b = answer.body as Partial<TokenResponse> | null
  if (b === null || typeof b !== 'object' || typeof b.access_token !== 'string' || typeof b.refresh_token !== 'string') {
    throw new RatchetClientError(CLIENT_ERROR_CODES.AUTH_UNAVAILABLE, `${what} answered ${answer.status} without a token response`, answer.status, answer.body)
  }
  return b as TokenResponse
}
