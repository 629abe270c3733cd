import { Type } from 'typebox'
import { errors } from '@ratchet/shared'
import { ErrorResponse, Jwt, TokenResponse } from '../schemas.js'
import { cookieAware, readRefreshCookie, sendTokens } from '../plugins/cookies.js'
import { noStore, type App, type RouteDeps } from './context.js'

export async function refreshRoutes (app: App, { tokens, config, dpop }: RouteDeps): Promise<void> {
  app.post('/v1/refresh', {
    schema: {
      tags: ['tokens'],
      summary: 'Exchange a refresh token for a new token pair (rotation)',
      // refresh_token may instead come from the cookie (see plugins/cookies.ts)
      body: Type.Object({ refresh_token: Type.Optional(Jwt), access_token: Type.Optional(Jwt) }, { additionalProperties: false }),
      response: { 200: cookieAware(TokenResponse), 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse }
    },
    preValidation: async (request) => { request.body ??= {} }
  }, async (request, reply) => {
    const fromBody = request.body.refresh_token
    const refreshToken = fromBody ?? readRefreshCookie(request, config)
    if (refreshToken === undefined) throw new errors.RATCHET_REFRESH_TOKEN_REQUIRED()
    const proof = await dpop.forTokenRequest(request)
    const result = await tokens.refresh({ refreshToken, accessToken: request.body.access_token, jkt: proof?.jkt })
    return sendTokens(request, reply.headers(noStore), result, fromBody === undefined)
  })
}
