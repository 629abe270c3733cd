import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { securityHeaders } from '@ratchet/shared'
import { apiHeaders } from '@ratchet/fastify'
import { CSRF_HEADER, DELIVERY_HEADER } from './cookies.js'

export interface SecurityOptions {
  /** WEB_ORIGIN and CORS_ORIGINS (see browserOrigins); none means no CORS at all */
  origins: string[]
}

/**
 * Secure headers on every response (helmet's defaults: an API serves no
 * scripts, so the strict CSP costs nothing) and CORS for an allow-list of
 * browser origins only. Credentials are allowed for those origins, as the
 * refresh-token cookie needs them; a reflected `*` is never used.
 */
async function securityPlugin (app: FastifyInstance, { origins }: SecurityOptions) {
  await app.register(apiHeaders, {
    securityHeaders: securityHeaders(),
    cors: {
      origins,
      credentials: true,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['content-type', 'authorization', 'dpop', CSRF_HEADER, DELIVERY_HEADER],
      exposedHeaders: ['retry-after', 'www-authenticate', 'dpop-nonce', 'x-request-id', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600
    }
  })
}

export default fp(securityPlugin, { name: 'ratchet-security', fastify: '5.x' })
