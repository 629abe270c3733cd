import { randomFillSync, randomUUID } from 'node:crypto'
import { errors, numericDate, RevocationReason, type AccessTokenClaims, type AuthConfig, type TokenResponse } from '@ratchet/shared'
import type { DeviceInfo, SessionInfo, SessionStore, SessionState } from '../stores/sessions.js'
import { newestFirst, pageOf, type SessionPage } from './session-page.js'
import type { Outbox } from '../stores/outbox.js'
import { invalidToken } from '@ratchet/fastify'
import { JwtError, type Jwt, type PresentedAccessToken } from './jwt.js'

export interface TokenServiceDeps {
  config: Pick<AuthConfig, 'ISSUER' | 'AUDIENCE' | 'ACCESS_TOKEN_TTL' | 'REFRESH_TOKEN_TTL' | 'SESSION_MAX_AGE' | 'REFRESH_REUSE_GRACE' | 'DEFAULT_CLIENT_ID' | 'DEFAULT_SCOPE' | 'MAX_SESSIONS_PER_USER'>
  jwt: Jwt
  sessions: SessionStore
  outbox: Outbox
  /** ms since the epoch; injected so tests can move time */
  now: () => number
  onSecurityEvent?: (event: string, detail: Record<string, unknown>) => void
  /** told how each refresh ended, for /metrics */
  onRefresh?: (result: 'rotated' | 'grace' | 'reuse' | 'invalid') => void
}

export interface RefreshRequest {
  refreshToken: string
  /** optional: the client's (possibly expired) access token, which must belong to the same session */
  accessToken?: string | undefined
  /** when set, the refresh token must have been issued to this client */
  clientId?: string | undefined
  /** a narrower scope for the new access token (RFC 6749 §6) */
  scope?: string | undefined
  /** the key of the request's DPoP proof, if it sent one (RFC 9449 §5) */
  jkt?: string | undefined
}

const JTI_BYTES = 12
// drawn from the CSPRNG 256 jtis at a time: a randomBytes call per jti was 3% of a refresh (bench/, issue 19)
const jtiPool = Buffer.alloc(JTI_BYTES * 256)
let jtiOffset = jtiPool.length

/**
 * A refresh token's jti: 96 random bits, 16 characters. It only tells one
 * rotation of a session from the next (the token is HMAC-signed, so it cannot
 * be guessed into being), and the session hash keeps two of them.
 */
function newRefreshJti (): string {
  if (jtiOffset === jtiPool.length) {
    randomFillSync(jtiPool)
    jtiOffset = 0
  }
  jtiOffset += JTI_BYTES
  return jtiPool.toString('base64url', jtiOffset - JTI_BYTES, jtiOffset)
}

const describeJwt = (err: unknown): string => err instanceof JwtError ? err.message : 'the token does not verify'

/**
 * Token policy: issue, rotate, revoke. Storage atomicity lives in the session
 * scripts; what a mismatch or an expiry means is decided here.
 */
export function createTokenService (deps: TokenServiceDeps) {
  const { config, jwt, sessions, outbox, now } = deps
  const idleMs = config.REFRESH_TOKEN_TTL * 1000
  const graceMs = config.REFRESH_REUSE_GRACE * 1000
  const security = deps.onSecurityEvent ?? (() => {})
  const counted = deps.onRefresh ?? (() => {})

  function respond (sid: string, s: SessionState, scope: string, nowMs: number): TokenResponse {
    const iat = Math.floor(nowMs / 1000)
    const access: AccessTokenClaims = {
      iss: config.ISSUER,
      aud: config.AUDIENCE,
      sub: s.sub,
      client_id: s.clientId,
      iat,
      // rounded up, so the token lives at least the expires_in we announce
      exp: Math.ceil(nowMs / 1000) + config.ACCESS_TOKEN_TTL,
      jti: randomUUID(),
      sid,
      scope,
      auth_time: numericDate(s.authTime),
      // a bound session's access tokens are bound too (RFC 9449 §6.1)
      ...(s.jkt !== undefined ? { cnf: { jkt: s.jkt } } : {})
    }
    // Deterministic (HMAC over the same claims), so the grace path hands out
    // byte-for-byte the successor the winner got without storing it.
    const refresh = jwt.signRefresh({ iss: config.ISSUER, aud: config.ISSUER, sub: s.sub, sid, jti: s.jti, client_id: s.clientId, iat: s.iat, exp: s.exp })
    return {
      access_token: jwt.signAccess(access),
      token_type: s.jkt !== undefined ? 'DPoP' : 'Bearer',
      expires_in: config.ACCESS_TOKEN_TTL,
      refresh_token: refresh,
      refresh_token_expires_in: Math.max(0, s.exp - iat),
      scope
    }
  }

  async function listSessions (sub: string): Promise<SessionInfo[]> {
    return (await sessions.list(sub, now(), config.MAX_SESSIONS_PER_USER)).sort(newestFirst)
  }

  async function revokeSession (sub: string, sid: string, reason: string): Promise<boolean> {
    // outbox first: if Redis fails after this, the relay and our own consumer still end the session
    await outbox.sessionRevoked({ sid, sub, reason, at: numericDate(now()) })
    const removed = await sessions.revoke(sub, sid)
    security('session_revoked', { sub, sid, reason })
    return removed
  }

  return {
    /** Starts a session (login or sign-up) and returns its first token pair. */
    async startSession (sub: string, opts: { clientId?: string, scope?: string, device?: DeviceInfo, startedAt?: number } = {}): Promise<TokenResponse> {
      // startedAt: a password change starts the caller's new session exactly at the
      // `before` of the revocation it just made, so that one survives it
      const nowMs = now()
      const startedAt = opts.startedAt ?? nowMs
      const sid = randomUUID()
      const jti = newRefreshJti()
      const clientId = opts.clientId ?? config.DEFAULT_CLIENT_ID
      const scope = opts.scope ?? config.DEFAULT_SCOPE
      const { iat, exp, evicted } = await sessions.create({ sub, sid, jti, clientId, scope, now: startedAt, idleMs, maxMs: config.SESSION_MAX_AGE * 1000, maxSessions: config.MAX_SESSIONS_PER_USER, device: opts.device })
      for (const old of evicted) {
        // the refresh tokens are dead already; this tells the resource services about the access tokens
        await outbox.sessionRevoked({ sid: old, sub, reason: RevocationReason.sessionLimit, at: numericDate(nowMs) })
        security('session_revoked', { sub, sid: old, reason: RevocationReason.sessionLimit })
      }
      return respond(sid, { sub, clientId, scope, authTime: startedAt, jti, iat, exp, jkt: opts.device?.jkt }, scope, nowMs)
    },

    /** Rotation: the presented refresh token must be the session's current one. */
    async refresh (req: RefreshRequest): Promise<TokenResponse> {
      let claims
      try {
        claims = jwt.verifyRefresh(req.refreshToken)
      } catch (err) {
        counted('invalid')
        throw new errors.RATCHET_INVALID_REFRESH_TOKEN(describeJwt(err))
      }
      if (req.clientId !== undefined && claims.client_id !== req.clientId) {
        counted('invalid')
        throw new errors.RATCHET_INVALID_REFRESH_TOKEN('the refresh token was issued to another client')
      }
      if (req.accessToken !== undefined) {
        // step 6: signature, issuer and session must match; expiry is the reason we are here
        let access
        try { access = jwt.verifyAccess(req.accessToken, { ignoreExpiration: true }) } catch (err) {
          counted('invalid')
          throw new errors.RATCHET_INVALID_REFRESH_TOKEN(`access_token: ${describeJwt(err)}`)
        }
        if (access.sid !== claims.sid || access.sub !== claims.sub) {
          counted('invalid')
          throw new errors.RATCHET_INVALID_REFRESH_TOKEN('the access token belongs to another session')
        }
      }
      const nowMs = now()
      const newJti = newRefreshJti()
      const rotation = { sub: claims.sub, sid: claims.sid, presentedJti: claims.jti, newJti, now: nowMs, idleMs, graceMs, jkt: req.jkt }
      const result = await sessions.rotate(rotation).catch(async (err: unknown) => {
        // A timed-out or cut-off script may still have run. Answering 503 after
        // a committed rotation would make the client's retry look like reuse
        // and cost it the session, so find out which it was.
        const committed = await sessions.rotatedTo(claims.sub, claims.sid, newJti)
        if (committed === undefined) throw err
        return { status: 'rotated' as const, ...committed }
      })
      if (result.status === 'missing') { counted('invalid'); throw new errors.RATCHET_INVALID_REFRESH_TOKEN('the session has ended') }
      if (result.status === 'key_mismatch') {
        // a bound refresh token without its key is what a thief holds: worth nothing (RFC 9449 §5)
        counted('invalid')
        security('dpop_key_mismatch', { sub: claims.sub, sid: claims.sid })
        if (req.jkt === undefined) throw Object.assign(new errors.RATCHET_INVALID_DPOP_PROOF('the session is DPoP-bound: the refresh needs a proof by its key'), { statusCode: 400 })
        throw new errors.RATCHET_INVALID_REFRESH_TOKEN('the refresh token is bound to another DPoP key')
      }
      counted(result.status === 'rotated' || result.status === 'grace' ? result.status : 'reuse')
      if (result.status !== 'rotated' && result.status !== 'grace') {
        // an already rotated-out token outside the grace window means a copy
        // exists elsewhere: end the session for everyone (RFC 9700 §4.14.2)
        security('refresh_token_reuse', { sub: claims.sub, sid: claims.sid })
        await revokeSession(claims.sub, claims.sid, RevocationReason.refreshTokenReuse)
        throw new errors.RATCHET_INVALID_REFRESH_TOKEN('the refresh token was already used; the session has been revoked')
      }
      let scope = result.scope
      if (req.scope !== undefined) {
        const granted = new Set(result.scope.split(' '))
        const wanted = req.scope.split(' ').filter((s) => s !== '')
        if (wanted.some((s) => !granted.has(s))) throw new errors.RATCHET_INVALID_SCOPE('the requested scope exceeds the granted scope')
        scope = wanted.join(' ')
      }
      return respond(claims.sid, result, scope, nowMs)
    },

    revokeSession,

    /** Ends every session of `sub` that started before `beforeMs` (logout-all, password change). */
    async revokeUser (sub: string, beforeMs: number, reason: string): Promise<number> {
      await outbox.userRevoked({ sub, before: numericDate(beforeMs), reason, at: numericDate(now()) })
      const n = await sessions.revokeUser(sub, beforeMs)
      security('user_revoked', { sub, reason, sessions: n })
      return n
    },

    /** Verifies the caller's access token, from its Authorization header; `allowExpired` for logout, which is always allowed. */
    async verifyCaller (request: PresentedAccessToken, allowExpired = false): Promise<AccessTokenClaims> {
      try {
        return await jwt.verifyPresented(request, { ignoreExpiration: allowExpired })
      } catch (err) {
        throw invalidToken(describeJwt(err))
      }
    },

    /** Verifies a refresh token's signature and claims only (logout, revocation). */
    verifyRefreshSignature (token: string) {
      try {
        return jwt.verifyRefresh(token, { ignoreExpiration: true })
      } catch (err) {
        throw new errors.RATCHET_INVALID_REFRESH_TOKEN(describeJwt(err))
      }
    },

    /**
     * Who a refresh or access token names, by signature alone (expiry
     * ignored), for revocation; undefined when it is not one of ours.
     */
    identify (token: string, hint?: string): { sub: string, sid: string, client_id: string } | undefined {
      const order = hint === 'access_token' ? ['access', 'refresh'] : ['refresh', 'access']
      for (const kind of order) {
        try {
          return kind === 'access' ? jwt.verifyAccess(token, { ignoreExpiration: true }) : jwt.verifyRefresh(token, { ignoreExpiration: true })
        } catch {}
      }
      return undefined
    },

    /** RFC 7662: active only while the token verifies, has not expired and its session lives. */
    async introspect (token: string, hint?: string): Promise<{ active: boolean } & Record<string, unknown>> {
      const inactive = { active: false }
      const tryAccess = async () => {
        const c = jwt.verifyAccess(token)
        if (await sessions.get(c.sub, c.sid) === undefined) return inactive
        return { active: true, token_type: c.cnf !== undefined ? 'DPoP' : 'Bearer', ...c }
      }
      const tryRefresh = async () => {
        const c = jwt.verifyRefresh(token)
        const state = await sessions.get(c.sub, c.sid)
        // only the session's current refresh token is usable, so only it is active
        if (state === undefined || state.jti !== c.jti) return inactive
        return { active: true, token_type: 'refresh_token', scope: state.scope, ...c, ...(state.jkt !== undefined ? { cnf: { jkt: state.jkt } } : {}) }
      }
      const order = hint === 'refresh_token' ? [tryRefresh, tryAccess] : [tryAccess, tryRefresh]
      for (const attempt of order) {
        try { return await attempt() } catch (err) { if (!(err instanceof JwtError)) throw err }
      }
      return inactive
    },

    /** The user's live sessions, newest first; never more than the cap allows. */
    listSessions,
    /** Whether the session an access token names still lives (its signature alone does not say). */
    sessionLives: (sub: string, sid: string) => sessions.exists(sub, sid),

    /** One page of the user's sessions, newest first; `cursor` is the previous page's `next_cursor`. */
    async sessionPage (sub: string, opts: { cursor?: string | undefined, limit: number }): Promise<SessionPage> {
      return pageOf(await listSessions(sub), opts)
    },

    /** The live session an access token names; its signature alone does not prove the session still exists. */
    async requireLiveSession (claims: Pick<AccessTokenClaims, 'sub' | 'sid'>): Promise<SessionState> {
      const state = await sessions.get(claims.sub, claims.sid)
      if (state === undefined) throw invalidToken('the session was revoked')
      return state
    },

    /** Ends every session of `sub` but `keepSid`, one session.revoked each (logout-others). */
    async revokeOthers (sub: string, keepSid: string): Promise<number> {
      let ended = 0
      // a read is bounded by the cap, and an index may be over it (it shrinks a batch
      // per login): read again until only the caller's session is left
      for (;;) {
        const others = (await sessions.list(sub, now(), config.MAX_SESSIONS_PER_USER)).filter((s) => s.sid !== keepSid)
        if (others.length === 0) return ended
        for (const s of others) await revokeSession(sub, s.sid, RevocationReason.logoutOthers)
        ended += others.length
      }
    },
    now
  }
}

export type TokenService = ReturnType<typeof createTokenService>
/** what a route learns of the device a request came from (the session list shows it) */
export type { DeviceInfo }
