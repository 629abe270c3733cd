import { Type } from 'typebox'
import { ACCESS_TOKEN_ALGS } from '@ratchet/shared'
import type { App, RouteDeps } from './context.js'

/** RFC 8414 authorization server metadata. */
export async function metadataRoutes (app: App, { config, dpop }: RouteDeps): Promise<void> {
  const base = config.ISSUER.replace(/\/$/, '')
  const metadata = {
    issuer: config.ISSUER,
    token_endpoint: `${base}/oauth/token`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    grant_types_supported: ['refresh_token'],
    // no authorization endpoint: sessions start at /v1/login
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
    scopes_supported: config.DEFAULT_SCOPE.split(' ').filter((s) => s !== ''),
    // RFC 9068 / RFC 8725: what access tokens are signed with
    access_token_signing_alg_values_supported: [...ACCESS_TOKEN_ALGS],
    // RFC 9449 §5.1
    dpop_signing_alg_values_supported: dpop.algs,
    service_documentation: `${base}/docs`
  }
  app.get('/.well-known/oauth-authorization-server', { schema: { summary: 'RFC 8414 metadata', response: { 200: Type.Object({ issuer: Type.String() }, { additionalProperties: true }) } } }, async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=3600').send(metadata)
  })
}
