import { Type } from 'typebox'
import { ErrorResponse, Jwt, TokenResponse } from '../schemas.js'
import { noStore, type App, type RouteDeps } from './context.js'

export async function refreshRoutes (app: App, { tokens }: RouteDeps): Promise<void> {
  app.post('/v1/refresh', {
    schema: {
      tags: ['tokens'],
      summary: 'Exchange a refresh token for a new token pair (rotation)',
      body: Type.Object({ refresh_token: Jwt, access_token: Type.Optional(Jwt) }, { additionalProperties: false }),
      response: { 200: TokenResponse, 400: ErrorResponse, 401: ErrorResponse }
    }
  }, async (request, reply) => {
    const result = await tokens.refresh({ refreshToken: request.body.refresh_token, accessToken: request.body.access_token })
    return reply.headers(noStore).send(result)
  })
}
