import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** CORS for an allow-list of browser origins (never a reflected `*`). */
export interface CorsPolicy {
  origins: readonly string[]
  /** Access-Control-Allow-Credentials for those origins (the auth service's cookie needs it) */
  credentials: boolean
  methods: readonly string[]
  allowedHeaders: readonly string[]
  exposedHeaders: readonly string[]
  /** seconds a browser may cache a preflight answer */
  maxAge: number
}

export interface ApiHeadersOptions {
  /** set on every response (securityHeaders() from @ratchet/shared) */
  securityHeaders: Readonly<Record<string, string>>
  /** absent or with no origins: no CORS headers at all */
  cors?: CorsPolicy | undefined
}

/**
 * The headers every answer carries, in one synchronous onRequest hook: the
 * request id (x-request-id), the security headers, and CORS. They were three
 * hooks (one async, and @fastify/cors rebuilding its options and reading the
 * route's config on every request), together ~15% of a cached GET /v1/me
 * (bench/, issue 19). Everything that can be is computed once here.
 *
 * CORS behaves as @fastify/cors did with our options: `Vary: Origin` on every
 * answer; an allow-listed Origin gets Access-Control-Allow-Origin (and
 * -Credentials, -Expose-Headers); any OPTIONS request is answered here as a
 * preflight (204 with the allowed methods, headers and max-age; the Allow-Origin
 * grant only for an allow-listed origin), or 400 when it is not a preflight.
 */
async function apiHeadersPlugin (app: FastifyInstance, { securityHeaders, cors }: ApiHeadersOptions) {
  const common: Array<[string, string]> = Object.entries(securityHeaders).map(([k, v]) => [k.toLowerCase(), v])
  const policy = cors !== undefined && cors.origins.length > 0 ? cors : undefined
  if (policy === undefined) {
    app.addHook('onRequest', function apiHeaders (request, reply, done) {
      reply.header('x-request-id', request.id)
      for (let i = 0; i < common.length; i++) reply.header(common[i]![0], common[i]![1])
      done()
    })
    return
  }

  const allowed = new Set(policy.origins)
  common.push(['vary', 'Origin'])
  const granted: Array<[string, string]> = [
    ...(policy.credentials ? [['access-control-allow-credentials', 'true'] as [string, string]] : []),
    ['access-control-expose-headers', policy.exposedHeaders.join(', ')]
  ]
  const preflight: Array<[string, string]> = [
    ['access-control-allow-methods', policy.methods.join(', ')],
    ['access-control-allow-headers', policy.allowedHeaders.join(', ')],
    ['access-control-max-age', String(policy.maxAge)],
    ['content-length', '0']
  ]

  function answerPreflight (request: FastifyRequest, reply: FastifyReply, origin: string | undefined): void {
    // what @fastify/cors' strictPreflight required: the two headers a browser always sends
    if (origin === undefined || request.headers['access-control-request-method'] === undefined) {
      reply.code(400).type('text/plain').send('Invalid Preflight Request')
      return
    }
    for (let i = 0; i < preflight.length; i++) reply.header(preflight[i]![0], preflight[i]![1])
    reply.code(204).send()
  }

  app.addHook('onRequest', function apiHeaders (request, reply, done) {
    reply.header('x-request-id', request.id)
    for (let i = 0; i < common.length; i++) reply.header(common[i]![0], common[i]![1])
    const origin = request.headers.origin
    if (origin !== undefined && allowed.has(origin)) {
      reply.header('access-control-allow-origin', origin)
      for (let i = 0; i < granted.length; i++) reply.header(granted[i]![0], granted[i]![1])
    }
    if (request.method === 'OPTIONS') return answerPreflight(request, reply, origin)
    done()
  })
  // a route for OPTIONS, so a preflight is routed (and answered by the hook) rather than a 404
  app.options('*', { schema: { hide: true } }, async (_request, reply) => reply.code(204).send())
}

export const apiHeaders = fp(apiHeadersPlugin, { name: 'ratchet-api-headers', fastify: '5.x' })
