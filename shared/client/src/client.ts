import { EXPIRED_TOKEN_DESCRIPTION, parseBearerChallenge } from './wire.js'
import { createDpop, type Dpop } from './dpop.js'
import { decodePayload, type TokenResponse } from './wire.js'
import { defaultLock } from './default-lock.js'
import { createEmitter, type ClientEvents, type Listener } from './emitter.js'
import { CLIENT_ERROR_CODES, RatchetClientError } from './errors.js'
import { answerError, asTokenResponse, isTransient, postJson, type AuthAnswer, type Delivery, type FetchLike } from './http.js'
import type { RefreshLock } from './lock.js'
import { checkCookieSetup, misconfigured } from './setup.js'
import { memoryStorage, pick, type StoredTokens, type TokenStorage } from './storage.js'
import { openTabChannel, type TabMessage } from './tabs.js'
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
  /**
   * Refresh on a timer when the access token falls due, rather than on the next
   * `fetch` only: for pages that show the token's life or sit idle. Default false.
   */
  autoRefresh?: boolean
  /**
   * DPoP (RFC 9449): `true` makes a non-extractable P-256 key (IndexedDB in a browser,
   * memory in Node) and signs a proof for every request, so the tokens are bound to it
   * and worthless without it; or pass your own from `createDpop`. Default false.
   */
  dpop?: boolean | Dpop
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
   * Resumes the session after a page load, and resolves to the tokens, or null when
   * signed out. In cookie mode, when this tab holds no access token, it refreshes
   * with the cookie (under the lock, so tabs opening together refresh once), and
   * the other tabs take the new token over. With a shared storage it only reads it.
   */
  restore (): Promise<StoredTokens | null>
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
  const inCookie = options.refreshTokenIn === 'cookie'
  if (inCookie) checkCookieSetup(authUrl)
  // called through a closure: a browser's fetch throws "Illegal invocation" when detached from window
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const margin = options.refreshMarginSeconds ?? 30
  const jitter = options.jitterSeconds ?? 5
  const lock = options.lock ?? defaultLock(`ratchet:refresh:${authUrl}`)
  const localNow = options.now ?? Date.now
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
  let rechecked: string | null = null // a token refreshed because the resource refused it: refused again, it is handed back
  let cookieWorked = false // a refresh with the cookie succeeded: the browser keeps it
  let queued = 0 // this tab's requests for the lock not yet granted
  let timer: ReturnType<typeof setTimeout> | undefined
  const acks = new Map<string, number>() // seq -> lock requests of other tabs that have taken it in
  let ackArrived: () => void = () => {}

  const serverNow = (): number => localNow() + offset

  /**
   * Every request the client sends, to the auth service and to resources, leaves
   * through here: the one place a proof-of-possession header would be added.
   */
  const signer = options.dpop === true ? createDpop() : options.dpop === false ? undefined : options.dpop
  const transmit: FetchLike = signer !== undefined ? signer.wrap(fetchFn) : (input, init) => fetchFn(input, init)

  const tabs = openTabChannel(`ratchet:tabs:${authUrl}`, (m) => { receive(m).catch(() => {}) })

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
    clearTimeout(timer)
    events.emit('signedout', { reason })
  }

  /** Reads the tokens; when they vanished since the last read, another tab signed out. */
  async function read (): Promise<StoredTokens | null> {
    const tokens = await storage.get()
    if (tokens !== null) seen = tokens.access_token
    else if (seen !== null) announceSignedOut(seen, 'gone')
    return tokens
  }

  /** Keeps new tokens (this tab's or another's) and says so. */
  async function keep (tokens: StoredTokens, reason: ClientEvents['tokens']['reason']): Promise<void> {
    offset = clockOffset(tokens.access_token, localNow())
    await storage.set(tokens)
    seen = tokens.access_token
    announcedOut = null
    schedule(tokens)
    events.emit('tokens', { reason, tokens })
  }

  async function store (response: TokenResponse, reason: ClientEvents['tokens']['reason'], from: string | null): Promise<StoredTokens> {
    const tokens = pick({ access_token: response.access_token, refresh_token: inCookie ? undefined : response.refresh_token })
    await keep(tokens, reason)
    await tell({ t: 'tokens', from, tokens })
    return tokens
  }

  /**
   * Called with the lock held: tells every tab what changed (new tokens, or the
   * session's end), and keeps the lock until each tab queued for it has taken that
   * in (or a hang guard passes), so the next holder never acts on the state it had
   * before. Storage alone is no hand-over: localStorage reaches other tab processes late.
   */
  async function tell (message: DistributiveOmit<Exclude<TabMessage, { t: 'ack' }>, 'seq'>): Promise<void> {
    if (tabs === null) return
    const seq = Math.random().toString(36).slice(2)
    acks.set(seq, 0)
    tabs.post({ ...message, seq } as TabMessage)
    const deadline = Date.now() + 2000
    try {
      const need = (await lock.waiting?.()) ?? 0
      while ((acks.get(seq) ?? 0) < need && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const guard = setTimeout(resolve, deadline - Date.now())
          ackArrived = () => { clearTimeout(guard); resolve() }
        })
      }
    } finally {
      acks.delete(seq)
    }
  }

  /** Announces the end of the session here, and (lock held) in every other tab. */
  async function endSession (token: string, reason: ClientEvents['signedout']['reason']): Promise<void> {
    announceSignedOut(token, reason)
    const sid = sidOf(token)
    if (sid !== null) await tell({ t: 'out', sid })
  }

  /** Whether tokens another tab got replace ours: the same session, and newer. */
  function replaces (ours: StoredTokens | null, m: Extract<TabMessage, { t: 'tokens' }>): boolean {
    // signed out here: in cookie mode another tab's sign-in is this tab's too (one cookie jar)
    if (ours === null) return inCookie && m.from === null
    if (ours.access_token === m.tokens.access_token) return false
    if (sidOf(ours.access_token) !== sidOf(m.tokens.access_token)) return false
    return m.from === ours.access_token || (expiresAt(m.tokens.access_token) ?? 0) > (expiresAt(ours.access_token) ?? 0)
  }

  async function receive (m: TabMessage): Promise<void> {
    if (m.t === 'ack') {
      if (acks.has(m.seq)) { acks.set(m.seq, (acks.get(m.seq) ?? 0) + m.n); ackArrived() }
      return
    }
    if (m.t === 'tokens' && replaces(await storage.get(), m)) {
      cookieWorked = inCookie // the tab that got them had a working cookie
      // tokens bound to the key the other tab holds: the one in the shared store
      signer?.forget()
      await keep(pick(m.tokens), 'tab')
    } else if (m.t === 'out') {
      const ours = await storage.get()
      const token = ours?.access_token ?? seen
      if (token !== null && sidOf(token) === m.sid) {
        if (ours !== null) await storage.clear()
        // the tab signing out drops the key; the next session's may differ
        signer?.forget()
        announceSignedOut(token, 'gone')
      }
    }
    // taken in: the holder may let the lock go to this tab
    if (queued > 0) tabs?.post({ t: 'ack', seq: m.seq, n: queued })
  }

  /** Runs `fn` under the refresh lock, counting this tab's queued requests (see receive). */
  function locked<T> (fn: () => Promise<T>): Promise<T> {
    queued++
    let granted = false
    const result = lock.run(() => { granted = true; queued--; return fn() })
    result.catch(() => { if (!granted) queued-- })
    return result
  }

  /** With autoRefresh, a timer for when these tokens fall due. */
  function schedule (tokens: StoredTokens): void {
    if (options.autoRefresh !== true) return
    clearTimeout(timer)
    isDue(tokens)
    if (due?.at == null) return
    timer = setTimeout(() => {
      read().then((current) => {
        if (current === null) return
        if (current.access_token !== tokens.access_token) schedule(current)
        else refreshFrom(current).catch(() => {})
      }, () => {})
    }, Math.max(0, due.at - serverNow()))
    ;(timer as { unref?: () => void }).unref?.()
  }

  /** Refused (400/401/403): the session is over. Forget it and say so once, here and in every tab. */
  async function refused (current: StoredTokens, answer: AuthAnswer): Promise<never> {
    if ((await storage.get())?.access_token === current.access_token) await storage.clear()
    await endSession(current.access_token, 'refused')
    if (inCookie && !cookieWorked && (answer.body as { code?: unknown } | null)?.code === 'RATCHET_REFRESH_TOKEN_REQUIRED') {
      throw misconfigured('the auth service got no refresh-token cookie: the browser did not keep the one it set at sign-in (page and auth service on different sites, third-party cookies blocked, or not a secure context; see docs/sdk.md)')
    }
    throw signedOut(`the auth service refused the refresh token (${answer.status})`)
  }

  function postRefresh (current: StoredTokens | null): Promise<AuthAnswer> {
    return postJson(transmit, `${authUrl}/v1/refresh`, inCookie ? {} : { refresh_token: current?.refresh_token }, delivery)
  }

  async function exchange (current: StoredTokens): Promise<StoredTokens> {
    // The expired access token is not sent along: it is optional, proves nothing a thief
    // could not omit, and would fail once its signing key has been retired.
    const answer = current.refresh_token === undefined && !inCookie
      ? { status: 401, body: null } // nothing to refresh with: as good as refused
      : await postRefresh(current)
    if (answer.status === 200) {
      cookieWorked = inCookie
      return store(asTokenResponse('refresh', answer, !inCookie), 'refresh', current.access_token)
    }
    if (answer.status !== 400 && answer.status !== 401 && answer.status !== 403) {
      // 429, 5xx, or a wrong authUrl: nothing says the session is over, keep it
      throw new RatchetClientError(CLIENT_ERROR_CODES.AUTH_UNAVAILABLE, `refresh failed with ${answer.status}`, answer.status, answer.body)
    }
    // trying again could only be refused again
    return refused(current, answer)
  }

  /**
   * Refreshes once for everyone: callers in this realm share one request, and the
   * lock makes other tabs wait. `stale` is the pair the caller found wanting; when
   * storage holds another pair by the time the lock is ours, someone else already
   * refreshed (and handed it over before letting go of the lock): that pair is the answer.
   */
  function refreshFrom (stale: StoredTokens | null): Promise<StoredTokens> {
    if (inflight) return inflight
    const flight = locked(async () => {
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
    const answer = await postJson(transmit, `${authUrl}${path}`, { email, password }, delivery)
    if (answer.status !== 200 && answer.status !== 201) throw answerError(what, answer)
    const response = asTokenResponse(what, answer, !inCookie)
    // under the lock, so that a refresh under way cannot overwrite the new session
    await locked(() => store(response, what, null))
    return response
  }

  async function send (request: Request, tokens: StoredTokens): Promise<Response> {
    request.headers.set('authorization', authorization(tokens.access_token))
    return transmit(request)
  }

  return {
    signup: (email, password) => signIn('/v1/signup', 'signup', email, password) as Promise<SignupResponse>,
    login: (email, password) => signIn('/v1/login', 'login', email, password),

    async logout () {
      let failure: unknown = null
      await locked(async () => {
        const tokens = await storage.get()
        if (tokens === null) return
        // signed out here and in every tab first: that never waits on the network
        await storage.clear()
        await endSession(tokens.access_token, 'logout')
        try {
          // the refresh token proves the session even when the access token has expired;
          // without one (cookie mode) the access token does, expired or not
          const answer = tokens.refresh_token !== undefined
            ? await postJson(transmit, `${authUrl}/v1/logout`, { refresh_token: tokens.refresh_token })
            : await postJson(transmit, `${authUrl}/v1/logout`, {}, { ...delivery, headers: { ...delivery.headers, authorization: authorization(tokens.access_token) } })
          if (isTransient(answer.status)) failure = answerError('logout', answer)
        } catch (err) {
          failure = err
        }
        // the next session gets a key of its own
        await signer?.reset()
      })
      if (failure !== null) throw failure
    },

    refresh: () => refreshFrom(null),

    async restore () {
      const have = await read()
      if (have !== null || !inCookie) {
        if (have !== null) schedule(have)
        return have
      }
      return locked(async () => {
        // another tab may have handed its tokens over while this one waited
        const handed = await read()
        if (handed !== null) return handed
        const answer = await postRefresh(null)
        if (answer.status === 200) {
          cookieWorked = true
          return store(asTokenResponse('restore', answer, false), 'restore', null)
        }
        // no cookie, or one whose session ended: signed out, which is no news
        if (answer.status === 400 || answer.status === 401 || answer.status === 403) return null
        throw new RatchetClientError(CLIENT_ERROR_CODES.AUTH_UNAVAILABLE, `restore failed with ${answer.status}`, answer.status, answer.body)
      })
    },

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
      const refusal = refusalOf(first)
      // "expired": refresh and retry. Any other invalid_token (revoked, a retired key)
      // asks the auth service once whether the session lives: it signs out everywhere
      // if not. A token fresh from such a check that is refused again is handed back.
      if (refusal === null || (refusal === 'invalid' && rechecked === tokens.access_token)) return first
      // the first answer is dropped either way: free its connection
      await first.body?.cancel().catch(() => {})
      const fresh = await refreshFrom(tokens)
      if (refusal === 'invalid') rechecked = fresh.access_token
      // once: a second refusal goes to the caller rather than round a loop
      return send(request, fresh)
    },

    async claims () {
      const tokens = await storage.get()
      return tokens === null ? null : decodePayload(tokens.access_token)
    },

    on: (type, listener) => events.on(type, listener),
    close: () => {
      clearTimeout(timer)
      tabs?.close()
      lock.close?.()
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A bound token (cnf.jkt) goes as DPoP, with the proof transmit adds; any other as Bearer. */
function authorization (accessToken: string): string {
  return decodePayload(accessToken)?.cnf !== undefined ? `DPoP ${accessToken}` : `Bearer ${accessToken}`
}

function sidOf (accessToken: string): string | null {
  const sid = decodePayload(accessToken)?.sid
  return typeof sid === 'string' ? sid : null
}

/**
 * What a 401 says of the access token (RFC 6750): `expired` (the resource service's
 * wording, or any description saying "expired"), `invalid` (any other invalid_token),
 * or null for every other answer.
 */
function refusalOf (res: Response): 'expired' | 'invalid' | null {
  if (res.status !== 401) return null
  // a DPoP challenge has the same parameters (RFC 9449 §7.1)
  const challenge = parseBearerChallenge((res.headers.get('www-authenticate') ?? '').replace(/^\s*dpop\b/i, 'Bearer'))
  if (challenge?.error !== 'invalid_token') return null
  const description = challenge.error_description ?? ''
  return description === EXPIRED_TOKEN_DESCRIPTION || /\bexpired\b/i.test(description) ? 'expired' : 'invalid'
}
