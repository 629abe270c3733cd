// A small real HTTP server standing in for the auth and resource services in the
// SDK's unit tests: it speaks their wire contract (token responses, rotation with
// reuse detection, RFC 6750 challenges) with unsigned JWT-shaped tokens whose
// lifetime is a fraction of a second, so expiry and races are quick to reach.
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { bearerChallenge, EXPIRED_TOKEN_DESCRIPTION } from '@ratchet/shared'
import { eventually } from '../../../shared/test/helpers.js'

// the tests' one poll-until-it-holds, for the client tests that import it from here
export { eventually }

export const PASSWORD = 'correct horse battery'
/** The auth service's refresh-token cookie. // wire contract */
export const REFRESH_COOKIE = '__Host-ratchet_rt'

export interface FixtureOptions {
  /** Access-token lifetime in ms. */
  ttlMs?: number
  /** Leave `exp`/`iat` out of the payload: only a 401 then tells the client. */
  omitExp?: boolean
  /** Hold every refresh this long, so that concurrent calls pile up behind it. */
  refreshDelayMs?: number
}

interface Session { sid: string, sub: string, refresh: string, revoked: boolean }

export interface Fixture {
  url: string
  /** Lifetime of the access tokens issued from now on (ms); tests lengthen it once the short first token did its job. */
  ttlMs: number
  counts: { refresh: number, logout: number, resource: number }
  /** When set, /v1/refresh answers this status instead of refreshing. */
  refreshStatus: number | null
  /** When true, the resource says "expired" to every token. */
  alwaysExpired: boolean
  /** Set: the resource refuses every access token as invalid_token with this description (a wrong key, say). */
  refuseAccess: string | null
  /** When a token expires, by the server's own clock (ms); undefined for unknown tokens. */
  expiry (accessToken: string): number | undefined
  /** Ends every session, as a logout elsewhere would. */
  revokeAll (): void
  sessions (): Session[]
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

export async function startFixture (t: { teardown: (fn: () => Promise<void> | void) => void }, opts: FixtureOptions = {}): Promise<Fixture> {
  const sessions = new Map<string, Session>()
  const access = new Map<string, { sid: string, exp: number }>() // token -> what the server knows
  const retired = new Map<string, string>() // rotated-out refresh token -> sid

  function issue (session: Session) {
    const now = Date.now()
    const expMs = now + fixture.ttlMs
    const exp = expMs / 1000
    // fractional NumericDates (RFC 7519 allows them): lifetimes here are shorter than a second
    const times = opts.omitExp ? {} : { iat: now / 1000, exp }
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ sub: session.sub, sid: session.sid, jti: randomUUID(), ...times })}.sig`
    access.set(token, { sid: session.sid, exp: expMs })
    session.refresh = `rt.${randomUUID()}`
    return { access_token: token, token_type: 'Bearer', expires_in: fixture.ttlMs / 1000, refresh_token: session.refresh, refresh_token_expires_in: 3600, scope: 'notes:read notes:write' }
  }

  function startSession (email: string): Session {
    const session = { sid: randomUUID(), sub: `user-${email}`, refresh: '', revoked: false }
    sessions.set(session.sid, session)
    return session
  }

  /** Token responses as the auth service sends them, the refresh token moved into an HttpOnly cookie when asked. */
  function replyTokens (req: IncomingMessage, res: ServerResponse, status: number, body: ReturnType<typeof issue> & { user?: unknown }): void {
    if (req.headers['x-ratchet-token-delivery'] !== 'cookie') return reply(res, status, body)
    const { refresh_token: refreshToken, ...rest } = body
    reply(res, status, rest, { 'set-cookie': `${REFRESH_COOKIE}=${refreshToken}; Path=/; HttpOnly; Secure; SameSite=Strict` })
  }

  /** The refresh token from the body, or else from the cookie, which needs the CSRF header. */
  function refreshTokenOf (req: IncomingMessage, body: Record<string, string>): string | undefined | null {
    if (body.refresh_token !== undefined) return body.refresh_token
    const cookie = new RegExp(`${REFRESH_COOKIE}=([^;]+)`).exec(req.headers.cookie ?? '')?.[1]
    if (cookie === undefined) return undefined
    return req.headers['x-ratchet-csrf'] === '1' ? cookie : null
  }

  function reply (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
    res.end(body === undefined ? '' : JSON.stringify(body))
  }

  const refused = (message: string) => ({ statusCode: 401, code: 'RATCHET_INVALID_REFRESH_TOKEN', error: 'Unauthorized', message })

  function bearer (req: IncomingMessage, res: ServerResponse): string | null {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const known = token === undefined ? undefined : access.get(token)
    const fail = (description: string) => { reply(res, 401, { statusCode: 401, message: description }, { 'www-authenticate': bearerChallenge('ratchet', 'invalid_token', description) }); return null }
    if (token === undefined) { reply(res, 401, {}, { 'www-authenticate': bearerChallenge('ratchet') }); return null }
    if (known === undefined) return fail('The access token is malformed')
    if (sessions.get(known.sid)?.revoked) return fail('The session was revoked')
    if (fixture.refuseAccess !== null) return fail(fixture.refuseAccess)
    if (fixture.alwaysExpired || Date.now() >= known.exp) return fail(EXPIRED_TOKEN_DESCRIPTION)
    return known.sid
  }

  async function handle (req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const body = (text === '' ? {} : JSON.parse(text)) as Record<string, string>
    const route = `${req.method} ${req.url}`
    if (route === 'POST /v1/signup') {
      const session = startSession(body.email!)
      return replyTokens(req, res, 201, { ...issue(session), user: { id: session.sub, email: body.email } })
    }
    if (route === 'POST /v1/login') {
      if (body.password !== PASSWORD) return reply(res, 401, { statusCode: 401, code: 'RATCHET_INVALID_CREDENTIALS', error: 'Unauthorized', message: 'Invalid email or password' })
      return replyTokens(req, res, 200, issue(startSession(body.email!)))
    }
    if (route === 'POST /v1/refresh') {
      fixture.counts.refresh++
      if (opts.refreshDelayMs) await new Promise((resolve) => setTimeout(resolve, opts.refreshDelayMs))
      if (fixture.refreshStatus !== null) return reply(res, fixture.refreshStatus, { statusCode: fixture.refreshStatus, message: 'try later' })
      const presented = refreshTokenOf(req, body)
      if (presented === null) return reply(res, 403, { statusCode: 403, code: 'RATCHET_CSRF_REJECTED', message: 'the x-ratchet-csrf: 1 header is required with the cookie' })
      const session = [...sessions.values()].find((s) => s.refresh === presented)
      if (session === undefined) {
        // strict: no grace window, so any second refresh of one token shows up as a failure
        const sid = retired.get(presented ?? '')
        if (sid !== undefined) sessions.get(sid)!.revoked = true
        return reply(res, 401, refused('unknown or reused'))
      }
      if (session.revoked) return reply(res, 401, refused('revoked'))
      retired.set(session.refresh, session.sid)
      return replyTokens(req, res, 200, issue(session))
    }
    if (route === 'POST /v1/logout') {
      fixture.counts.logout++
      const bearerSid = access.get(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '')?.sid
      const sid = bearerSid ?? [...sessions.values()].find((s) => s.refresh === body.refresh_token)?.sid ?? retired.get(body.refresh_token ?? '')
      if (sid !== undefined) sessions.get(sid)!.revoked = true
      return reply(res, 204)
    }
    if (route === 'GET /me' || route === 'POST /echo') {
      fixture.counts.resource++
      const sid = bearer(req, res)
      if (sid === null) return
      return reply(res, 200, { sid, echo: text })
    }
    reply(res, 404, { statusCode: 404, message: 'not found' })
  }

  const server = createServer((req, res) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { text += chunk })
    req.on('end', () => { handle(req, res, text).catch((err: unknown) => reply(res, 500, { message: String(err) })) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))

  const fixture: Fixture = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ttlMs: opts.ttlMs ?? 400,
    counts: { refresh: 0, logout: 0, resource: 0 },
    refreshStatus: null,
    refuseAccess: null,
    alwaysExpired: false,
    expiry: (token) => access.get(token)?.exp,
    revokeAll: () => { for (const s of sessions.values()) s.revoked = true },
    sessions: () => [...sessions.values()]
  }
  return fixture
}

/** Waits until the server itself holds the token expired. */
export async function untilExpired (fixture: Fixture, accessToken: string): Promise<void> {
  const exp = fixture.expiry(accessToken)
  if (exp === undefined) throw new Error('unknown token')
  await eventually(() => Date.now() >= exp)
}

/** The answers that were not 200, with their challenge, so that a failure says why. */
export function failures (answers: Response[]): string[] {
  return answers.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.headers.get('www-authenticate') ?? ''}`)
}
