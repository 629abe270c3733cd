import { Type } from 'typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors, RevocationReason } from '@ratchet/shared'
import { invalidToken, missingCredentials } from '@ratchet/fastify'
import { ErrorResponse, Jwt, Session } from '../schemas.js'
import { clearRefreshCookie, readRefreshCookie, REFRESH_COOKIE } from '../plugins/cookies.js'
import { bearerClaims } from './caller.js'
import type { App, RouteDeps } from './context.js'

/** The page size of GET /v1/sessions, and its maximum. */
const SESSIONS_PAGE = 100

export async function sessionRoutes (app: App, { tokens, config, dpop }: RouteDeps): Promise<void> {
  const authenticate = (request: FastifyRequest, allowExpired: boolean) => bearerClaims(request, { tokens, dpop }, allowExpired)
  /** The caller's claims, once its session is known to live: a revoked session acts on nothing. */
  async function liveCaller (request: FastifyRequest, allowExpired: boolean) {
    const claims = await authenticate(request, allowExpired)
    if (!await tokens.sessionLives(claims.sub, claims.sid)) throw invalidToken('the session was revoked')
    return claims
  }
  /** 204, and our refresh cookie cleared when the client sent it. */
  function loggedOut (request: FastifyRequest, reply: FastifyReply) {
    // Only our cookie: Clear-Site-Data "cookies" would wipe every cookie of the site,
    // the web app's own included (and on other subdomains of it)
    if (request.cookies[REFRESH_COOKIE] !== undefined) clearRefreshCookie(reply)
    return reply.code(204).send(null)
  }
  /** The schema of a bulk logout: Bearer only, no body, 204. */
  const endSessions = (summary: string) => ({ tags: ['sessions'], summary, security: [{ bearerAuth: [] }], response: { 204: Type.Null(), 401: ErrorResponse } })

  app.post('/v1/logout', {
    schema: {
      tags: ['sessions'],
      summary: 'End this session (Bearer access token, or the refresh token in the body)',
      security: [{ bearerAuth: [] }, {}],
      body: Type.Object({ refresh_token: Type.Optional(Jwt) }, { additionalProperties: false }),
      response: { 204: Type.Null(), 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse }
    },
    // the body is optional (a Bearer header alone is enough)
    preValidation: async (request) => { request.body ??= {} }
  }, async (request, reply) => {
    const refreshToken = request.body.refresh_token
    let who: { sub: string, sid: string }
    if (refreshToken !== undefined) {
      // any refresh token of the session proves it, even one already rotated out
      who = tokens.verifyRefreshSignature(refreshToken)
    } else if (request.headers.authorization !== undefined) {
      who = await authenticate(request, true)
    } else {
      const cookie = readRefreshCookie(request, config)
      if (cookie === undefined) throw missingCredentials()
      who = tokens.verifyRefreshSignature(cookie)
    }
    await tokens.revokeSession(who.sub, who.sid, RevocationReason.logout)
    return loggedOut(request, reply)
  })

  app.post('/v1/logout-all', { schema: endSessions('End every session of the user') }, async (request, reply) => {
    // An expired token may end its own session (/v1/logout) but others only
    // while that session lives: a token leaked long ago must not end newer ones.
    const claims = await liveCaller(request, true)
    // every session that started up to now; a login a moment later survives
    await tokens.revokeUser(claims.sub, tokens.now() + 1, RevocationReason.logoutAll)
    return loggedOut(request, reply)
  })

  app.post('/v1/logout-others', { schema: endSessions('End every session of the user but this one') }, async (request, reply) => {
    const claims = await liveCaller(request, false)
    await tokens.revokeOthers(claims.sub, claims.sid)
    return reply.code(204).send(null)
  })

  app.get('/v1/sessions', {
    schema: {
      tags: ['sessions'],
      summary: "The user's active sessions, newest first",
      security: [{ bearerAuth: [] }],
      querystring: Type.Object({
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page' })),
        limit: Type.Optional(Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: `sessions per page, 1 to ${SESSIONS_PAGE} (default)` }))
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ sessions: Type.Array(Session), next_cursor: Type.Union([Type.String(), Type.Null()]) }), 400: ErrorResponse, 401: ErrorResponse }
    }
  }, async (request) => {
    const claims = await liveCaller(request, false)
    const limit = request.query.limit === undefined ? SESSIONS_PAGE : Number(request.query.limit)
    const page = await tokens.sessionPage(claims.sub, { cursor: request.query.cursor, limit })
    return { sessions: page.sessions.map((s) => ({ ...s, current: s.sid === claims.sid })), next_cursor: page.nextCursor }
  })

  app.delete('/v1/sessions/:sid', {
    schema: {
      tags: ['sessions'],
      summary: 'End one of the user\'s sessions',
      security: [{ bearerAuth: [] }],
      params: Type.Object({ sid: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }),
      response: { 204: Type.Null(), 401: ErrorResponse, 404: ErrorResponse }
    }
  }, async (request, reply) => {
    const claims = await liveCaller(request, false)
    // two key lookups, not a walk of the user's sessions
    if (!await tokens.sessionLives(claims.sub, request.params.sid)) throw new errors.RATCHET_SESSION_NOT_FOUND()
    await tokens.revokeSession(claims.sub, request.params.sid, RevocationReason.sessionDeleted)
    return reply.code(204).send(null)
  })
}
