import formbody from '@fastify/formbody'
import { Type } from 'typebox'
import { RevocationReason } from '@ratchet/shared'
import { TokenResponse } from '../schemas.js'
import { OAuthError, oauthErrorHandler } from './oauth-errors.js'
import { basicClients, checkBasic } from './oauth-clients.js'
import { noStore, type App, type RouteDeps } from './context.js'

const OAuthErrorBody = Type.Object({ error: Type.String(), error_description: Type.Optional(Type.String()) })
const Str = (max = 4096) => Type.String({ maxLength: max })

/** RFC 6749 §6 (refresh grant), RFC 7009 (revocation) and RFC 7662 (introspection). */
export async function oauthRoutes (app: App, { tokens, config, dpop }: RouteDeps): Promise<void> {
  // RFC 6749 §4.1.3/§6: form-encoded only, so JSON and text are 415 here
  app.removeContentTypeParser(['application/json', 'text/plain'])
  await app.register(formbody, { bodyLimit: 16 * 1024 })
  app.setErrorHandler(oauthErrorHandler)
  const clients = basicClients(config.INTROSPECTION_CLIENTS)

  /** Public clients identify themselves with client_id alone (token_endpoint_auth_method: none). */
  function publicClient (clientId: string | undefined): string {
    if (clientId === undefined) throw new OAuthError('invalid_request', 'client_id is required')
    if (clientId !== config.DEFAULT_CLIENT_ID) throw new OAuthError('invalid_client', 'unknown client')
    return clientId
  }

  app.post('/oauth/token', {
    schema: {
      tags: ['oauth'],
      summary: 'RFC 6749 token endpoint: the refresh_token grant',
      consumes: ['application/x-www-form-urlencoded'],
      body: Type.Object({ grant_type: Str(64), refresh_token: Type.Optional(Str()), client_id: Type.Optional(Str(128)), scope: Type.Optional(Str(1024)) }, { additionalProperties: Type.String({ maxLength: 4096 }) }),
      response: { 200: TokenResponse, '4xx': OAuthErrorBody }
    }
  }, async (request, reply) => {
    const body = request.body
    if (body.grant_type === 'password') throw new OAuthError('unsupported_grant_type', 'the password grant is not offered (RFC 9700 §2.4)')
    if (body.grant_type !== 'refresh_token') throw new OAuthError('unsupported_grant_type', `grant_type ${body.grant_type} is not supported`)
    const clientId = publicClient(body.client_id)
    if (body.refresh_token === undefined || body.refresh_token === '') throw new OAuthError('invalid_request', 'refresh_token is required')
    const proof = await dpop.forTokenRequest(request)
    const result = await tokens.refresh({ refreshToken: body.refresh_token, clientId, scope: body.scope, jkt: proof?.jkt })
    return reply.headers(noStore).send(result)
  })

  app.post('/oauth/revoke', {
    schema: {
      tags: ['oauth'],
      summary: 'RFC 7009 revocation: a refresh or an access token ends its session',
      consumes: ['application/x-www-form-urlencoded'],
      body: Type.Object({ token: Str(), token_type_hint: Type.Optional(Str(64)), client_id: Type.Optional(Str(128)) }, { additionalProperties: Type.String({ maxLength: 4096 }) }),
      response: { 200: Type.Null(), '4xx': OAuthErrorBody }
    }
  }, async (request, reply) => {
    const clientId = publicClient(request.body.client_id)
    const claims = tokens.identify(request.body.token, request.body.token_type_hint)
    // RFC 7009 §2.2: an invalid or unknown token is not an error
    if (claims !== undefined) {
      if (claims.client_id !== clientId) throw new OAuthError('unauthorized_client', 'the token was issued to another client')
      await tokens.revokeSession(claims.sub, claims.sid, RevocationReason.revoked)
    }
    return reply.code(200).headers(noStore).send(null)
  })

  app.post('/oauth/introspect', {
    schema: {
      tags: ['oauth'],
      summary: 'RFC 7662 introspection, for resource servers with credentials',
      consumes: ['application/x-www-form-urlencoded'],
      body: Type.Object({ token: Str(), token_type_hint: Type.Optional(Str(64)) }, { additionalProperties: Type.String({ maxLength: 4096 }) }),
      response: { 200: Type.Object({ active: Type.Boolean() }, { additionalProperties: true }), '4xx': OAuthErrorBody }
    }
  }, async (request, reply) => {
    if (!checkBasic(clients, request.headers.authorization)) {
      throw new OAuthError('invalid_client', 'introspection needs resource-server credentials (HTTP Basic)')
    }
    return reply.headers(noStore).send(await tokens.introspect(request.body.token, request.body.token_type_hint))
  })
}
