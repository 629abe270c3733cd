import { EXPIRED_TOKEN_DESCRIPTION, parseBearerChallenge } from './wire.js'
import { decodePayload, type TokenResponse } from './wire.js'
import { defaultLock } from './default-lock.js'
import { createEmitter, type ClientEvents, type Listener } from './emitter.js'
import { CLIENT_ERROR_CODES, RatchetClientError } from './errors.js'
import { answerError, asTokenResponse, isTransient, postJson, type Delivery, type FetchLike } from './http.js'
import type { RefreshLock } from './lock.js'
import { memoryStorage, pick, type StoredTokens, type TokenStorage } from './storage.js'
import { clockOffset, expiresAt, refreshAt } from './timing.js'

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** Base URL of the auth service, e.g. `http://localhost:3001`. */
  authUrl: string
  /** Where tokens live; memory by default. Use `webStorage(localStorage)` to share a session between tabs. */
  storage?: TokenStorage
  /** The fetch to use for every request (auth and resources); the global `fetch` by default. */
  fetch?: FetchLike
  /** Refresh this long before the access token's `exp` (capped at half its lifetime). Default 30. */
  refreshMarginSeconds?: number
  /** Add up to this much, at random, to the margin, so tabs and clients do not refresh in step. Default 5. */
  jitterSeconds?: number
  /** The lock that serialises refreshes; by default Web Locks, else BroadcastChannel in a page, else in-process. */
  lock?: RefreshLock
  /** The clock, in ms since the epoch; `Date.now` by default. */
  now?: () => number
  /**
   * Where the refresh token lives. `body` (default): in the JSON bodies and in
   * `storage`. `cookie`: the auth service sets it as an HttpOnly cookie that script
   * never sees (browsers; the auth service must list the page's origin in
   * CORS_ORIGINS), and `storage` keeps only the access token.
   */
  refreshTokenIn?: 'body' | 'cookie'
}

/** The answer to a sign-up: a token response with the new user beside its fields. */
export type SignupResponse = TokenResponse & { user: { id: string, email: string } }

/** A client of the Ratchet auth service that keeps its session fresh by itself. */
export interface RatchetClient {
  /** Creates an account and signs in. Throws REQUEST_REFUSED (e.g. 409 e-mail taken, 400 bad input). */
  signup (email: string, password: string): Promise<SignupResponse>
  /** Signs in. Throws REQUEST_REFUSED with status 401 on wrong credentials. */
  login (email: string, password: string): Promise<TokenResponse>
  /**
   * Revokes the session at the auth service and forgets the tokens. The local
   * sign-out always happens; throws AUTH_UNAVAILABLE (after it) when the server could
   * not be told, so the app can say the session may still be live elsewhere.
   */
  logout (): Promise<void>
  /** Refreshes now (joining a refresh already under way) and returns the new tokens. */
  refresh (): Promise<StoredTokens>
  /**
   * `fetch` with `Authorization: Bearer <access token>`. Refreshes first when the
   * token is due, and once more when the server answers 401 "expired", retrying the
   * request once. Throws SIGNED_OUT when there is no session (or it was refused) and
   * AUTH_UNAVAILABLE when a needed refresh could not reach the auth service.
   */
  fetch (input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  /** The current access token's payload (unverified: for display and `exp`), or null when signed out. */
  claims (): Promise<Record<string, unknown> | null>
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof ClientEvents> (type: K, listener: Listener<K>): () => void
  /** Releases what the lock holds open. */
  close (): void
}

/** Creates a {@link RatchetClient}. Works in browsers and Node 20+ with the platform's fetch. */
export function createClient (options: ClientOptions): RatchetClient {
  const authUrl = options.authUrl.replace(/\/+$/, '')
  const storage = options.storage ?? memoryStorage()
  // called through a closure: a browser's fetch throws "Illegal invocation" when detached from window
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const margin = options.refreshMarginSeconds ?? 30
  const jitter = options.jitterSeconds ?? 5
  const lock = options.lock ?? defaultLock(`ratchet:refresh:${authUrl}`)
  const localNow = options.now ?? Date.now
  const inCookie = options.refreshTokenIn === 'cookie'
  // wire contract (auth service, cookie delivery): ask for the cookie, and prove the
  // request is not a cross-site one whenever the cookie is to be read
  const delivery: Delivery = inCookie
    ? { headers: { 'x-ratchet-token-delivery': 'cookie', 'x-ratchet-csrf': '1' }, credentials: 'include' }
    : { credentials: 'omit' }
  const events = createEmitter()

  let offset = 0 // server clock minus ours, see clockOffset
  let due: { token: string, at: number | null } | null = null // the jitter is drawn once per token
  let inflight: Promise<StoredTokens> | null = null
  // access tokens, not refresh tokens, name a session's state here: in cookie mode there is no refresh token to see
  let announcedOut: string | null = null // the token whose end was announced, to announce it once
  let seen: string | null = null // the token last read, to notice when another tab signs out

  const serverNow = (): number => localNow() + offset

  function isDue (tokens: StoredTokens): boolean {
    if (due?.token !== tokens.access_token) due = { token: tokens.access_token, at: refreshAt(tokens.access_token, margin, jitter) }
    return due.at !== null && serverNow() >= due.at
  }

  function signedOut (message: string): RatchetClientError {
    return new RatchetClientError(CLIENT_ERROR_CODES.SIGNED_OUT, message)
  }

  function announceSignedOut (token: string, reason: ClientEvents['signedout']['reason']): void {
    if (announcedOut === token) return
    announcedOut = token
    events.emit('signedout', { reason })
  }

  /** Reads the tokens; when they vanished since the last read, another tab signed out. */
  async function read (): Promise<StoredTokens | null> {
    const tokens = await storage.get()
    if (tokens !== null) seen = tokens.access_token
    else if (seen !== null) announceSignedOut(seen, 'gone')
    return tokens
  }

  async function store (response: TokenResponse, reason: ClientEvents['tokens']['reason']): Promise<StoredTokens> {
    const tokens = pick({ access_token: response.access_token, refresh_token: inCookie ? undefined : response.refresh_token })
    offset = clockOffset(tokens.access_token, localNow())
    await storage.set(tokens)
    seen = tokens.access_token
    announcedOut = null
    events.emit('tokens', { reason, tokens })
    return tokens
  }

  async function exchange (current: StoredTokens): Promise<StoredTokens> {
    // The expired access token is not sent along: it is optional, proves nothing a thief
    // could not omit, and would fail once its signing key has been retired.
    const answer = current.refresh_token === undefined && !inCookie
      ? { status: 401, body: null } // nothing to refresh with: as good as refused
      : await postJson(fetchFn, `${authUrl}/v1/refresh`, inCookie ? {} : { refresh_token: current.refresh_token }, delivery)
    if (answer.status === 200) return store(asTokenResponse('refresh', answer, !inCookie), 'refresh')
    if (answer.status !== 400 && answer.status !== 401 && answer.status !== 403) {
      // 429, 5xx, or a wrong authUrl: nothing says the session is over, keep it
      throw new RatchetClientError(CLIENT_ERROR_CODES.AUTH_UNAVAILABLE, `refresh failed with ${answer.status}`, answer.status, answer.body)
    }
    // Refused (revoked, expired or replayed): the session is over. Forget it and say so
    // once; trying again could only be refused again.
    if ((await storage.get())?.access_token === current.access_token) await storage.clear()
    announceSignedOut(current.access_token, 'refused')
    throw signedOut(`the auth service refused the refresh token (${answer.status})`)
  }

  /**
   * Refreshes once for everyone: callers in this realm share one request, and the
   * lock makes other tabs wait. `stale` is the pair the caller found wanting; when
   * storage holds another pair by the time the lock is ours, someone else already
   * refreshed and that pair is the answer.
   */
  function refreshFrom (stale: StoredTokens | null): Promise<StoredTokens> {
    if (inflight) return inflight
    const flight = lock.run(async () => {
      const current = await read()
      if (current === null) throw signedOut('not signed in')
      if (stale !== null && current.access_token !== stale.access_token) return current
      return exchange(current)
    })
    inflight = flight
    const clear = (): void => { if (inflight === flight) inflight = null }
    flight.then(clear, clear)
    return flight
  }

  async function signIn (path: string, what: 'signup' | 'login', email: string, password: string): Promise<TokenResponse> {
    const answer = await postJson(fetchFn, `${authUrl}${path}`, { email, password }, delivery)
    if (answer.status !== 200 && answer.status !== 201) throw answerError(what, answer)
    const response = asTokenResponse(what, answer, !inCookie)
    // under the lock, so that a refresh under way cannot overwrite the new session
    await lock.run(() => store(response, what))
    return response
  }

  async function send (request: Request, tokens: StoredTokens): Promise<Response> {
    request.headers.set('authorization', `Bearer ${tokens.access_token}`)
    return fetchFn(request)
  }

  return {
    signup: (email, password) => signIn('/v1/signup', 'signup', email, password) as Promise<SignupResponse>,
    login: (email, password) => signIn('/v1/login', 'login', email, password),

    async logout () {
      let failure: unknown = null
      await lock.run(async () => {
        const tokens = await storage.get()
        if (tokens === null) return
        try {
          // the refresh token proves the session even when the access token has expired;
          // without one (cookie mode) the access token does, expired or not
          const answer = tokens.refresh_token !== undefined
            ? await postJson(fetchFn, `${authUrl}/v1/logout`, { refresh_token: tokens.refresh_token })
            : await postJson(fetchFn, `${authUrl}/v1/logout`, {}, { ...delivery, headers: { ...delivery.headers, authorization: `Bearer ${tokens.access_token}` } })
          if (isTransient(answer.status)) failure = answerError('logout', answer)
        } catch (err) {
          failure = err
        }
        await storage.clear()
        announceSignedOut(tokens.access_token, 'logout')
      })
      if (failure !== null) throw failure
    },

    refresh: () => refreshFrom(null),

    async fetch (input, init) {
      // one Request up front, so a retry can send the same body again
      const request = new Request(input, init)
      let tokens = await read()
      if (tokens === null) throw signedOut('not signed in')
      if (isDue(tokens)) {
        try {
          tokens = await refreshFrom(tokens)
        } catch (err) {
          // auth service unavailable: a token that has not expired yet is still good to send
          const exp = expiresAt(tokens.access_token)
          if ((err as RatchetClientError).code !== CLIENT_ERROR_CODES.AUTH_UNAVAILABLE || exp === null || serverNow() >= exp) throw err
        }
      }
      const first = await send(request.clone(), tokens)
      if (!saysExpired(first)) return first
      // the first answer is dropped either way: free its connection
      await first.body?.cancel().catch(() => {})
      const fresh = await refreshFrom(tokens)
      // once: a second "expired" goes to the caller rather than round a loop
      return send(request, fresh)
    },

    async claims () {
      const tokens = await storage.get()
      return tokens === null ? null : decodePayload(tokens.access_token)
    },

    on: (type, listener) => events.on(type, listener),
    close: () => { lock.close?.() }
  }
}

/** An RFC 6750 challenge saying the access token expired (the resource service's wording, or any saying "expired"). */
function saysExpired (res: Response): boolean {
  if (res.status !== 401) return false
  const challenge = parseBearerChallenge(res.headers.get('www-authenticate') ?? '')
  if (challenge?.error !== 'invalid_token') return false
  const description = challenge.error_description ?? ''
  return description === EXPIRED_TOKEN_DESCRIPTION || /\bexpired\b/i.test(description)
}
