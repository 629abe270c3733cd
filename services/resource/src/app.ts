import { readFileSync } from 'node:fs'
import Fastify, { type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { browserOrigins, createAppMetrics, dpopAlgsOf, jwksUrlOf, securityHeaders, type ResourceConfig } from '@ratchet/shared'
import { apiHeaders, docs, errorHandler, healthRoutes, lazyRequestLogger, metricsRoute, requestIds, serverTimeouts } from '@ratchet/fastify'
import redisPlugin from './plugins/redis.js'
import natsPlugin from './plugins/nats.js'
import keysPlugin, { type KeysPluginOptions } from './plugins/keys.js'
import revocationsPlugin from './plugins/revocations.js'
import deletionsPlugin from './plugins/deletions.js'
import authenticatePlugin from './plugins/authenticate.js'
import { registerResourceMetrics } from './metrics.js'
import meRoutes from './routes/me.js'
import notesRoutes from './routes/notes.js'
import { createNotesStore } from './stores/notes.js'
import { createNotesService } from './notes/service.js'

/** the service's package.json, one level up from src/ and dist/ alike (the image keeps it) */
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

export interface BuildOptions {
  logger?: FastifyServerOptions['logger']
  /** JWKS timings (ms); tests shorten them, production keeps the defaults */
  jwks?: Partial<Pick<KeysPluginOptions, 'refreshInterval' | 'retryInterval' | 'minRefreshInterval' | 'timeout'>>
  /** wait between attempts while NATS or the event stream is missing (ms) */
  retryInterval?: number
}

/** Never log a credential, whatever a future log line includes. */
export const redactPaths = ['req.headers.authorization', 'req.headers.cookie', '*.token', '*.access_token', '*.refresh_token']

/**
 * The resource service, not listening yet. It starts without its dependencies (the auth
 * service, NATS, even Redis) and reports not-ready on /health/ready until it has them.
 */
export async function buildApp (config: ResourceConfig, opts: BuildOptions = {}) {
  const app = Fastify({
    logger: opts.logger ?? { level: config.LOG_LEVEL, redact: redactPaths },
    // a note of NOTE_MAX_LENGTH characters, each escaped as \uXXXX at worst, plus room for JSON
    bodyLimit: config.NOTE_MAX_LENGTH * 6 + 1024,
    // unique across instances, so a log line and an x-request-id name one request (as the auth service)
    genReqId: requestIds(),
    // a request's pino child is only built when the request logs something
    childLoggerFactory: lazyRequestLogger,
    requestIdHeader: false,
    // Node's defaults hold a slow body or a silent connection for ever
    ...serverTimeouts(config),
    // no coercion and no silent stripping: a number is not a string, an unknown property is an error
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  const retainSeconds = config.ACCESS_TOKEN_TTL + config.CLOCK_LEEWAY
  const retry = opts.retryInterval !== undefined ? { retryInterval: opts.retryInterval } : {}

  await app.register(errorHandler)
  // secure headers on every response; CORS only for WEB_ORIGIN and CORS_ORIGINS, without
  // credentials: this service takes bearer tokens, never cookies (see docs/security.md)
  await app.register(apiHeaders, {
    securityHeaders: securityHeaders(),
    cors: { origins: browserOrigins(config), credentials: false, methods: ['GET', 'POST', 'DELETE'], allowedHeaders: ['authorization', 'content-type', 'dpop'], exposedHeaders: ['www-authenticate', 'retry-after', 'dpop-nonce'], maxAge: 600 }
  })
  await app.register(redisPlugin, { target: config, connect: 'background' })
  await app.register(natsPlugin, { servers: config.NATS_URL, name: 'ratchet-resource', retryMs: opts.retryInterval ?? 1000 })
  await app.register(keysPlugin, { url: jwksUrlOf(config), ...opts.jwks })
  await app.register(revocationsPlugin, { stream: config.NATS_STREAM, prefix: config.NATS_SUBJECT_PREFIX, retainSeconds, leewaySeconds: config.CLOCK_LEEWAY, ...retry })
  await app.register(deletionsPlugin, { stream: config.NATS_STREAM, prefix: config.NATS_SUBJECT_PREFIX })
  await app.register(authenticatePlugin, {
    issuer: config.ISSUER,
    audience: config.AUDIENCE,
    leeway: config.CLOCK_LEEWAY,
    cacheSize: config.VERIFY_CACHE_SIZE,
    dpop: { algs: dpopAlgsOf(config), maxAge: config.DPOP_PROOF_MAX_AGE, publicUrl: config.PUBLIC_URL, replayCacheSize: config.DPOP_REPLAY_CACHE_SIZE }
  })
  // a key that left the JWKS may have been compromised: forget what it verified
  app.keys.onKeysRemoved = () => app.verifier.clearCache()

  // before the routes: both read them as they are added (docs first, so /metrics is documented too)
  await app.register(docs, {
    title: 'Ratchet resource service',
    version,
    description: 'A protected resource: verifies the auth service\'s access tokens on its own (JWKS) and rejects revoked sessions at once. Bearer errors follow RFC 6750.'
  })
  const metrics = createAppMetrics()
  registerResourceMetrics(metrics.registry, { keys: app.keys, verifier: app.verifier, revocations: app.revocations, follower: app.revocationFollower })
  await app.register(metricsRoute, { metrics, token: config.METRICS_TOKEN })
  await app.register(healthRoutes, {
    summary: 'Ready: Redis, NATS, the JWKS keys and the replayed revocations in place (503 names what is missing)',
    checks: [
      { name: 'redis', missing: 'Redis is not connected', ready: () => app.redis.status === 'ready' },
      { name: 'nats', missing: 'NATS is not connected', ready: () => app.nats.connected() },
      { name: 'keys', missing: 'no signing keys loaded from the JWKS', ready: () => app.keys.size > 0 },
      { name: 'revocations', missing: 'revocations not replayed yet', ready: () => app.revocationFollower.caughtUp }
    ]
  })
  await app.register(meRoutes)
  await app.register(notesRoutes, { maxLength: config.NOTE_MAX_LENGTH, notes: createNotesService(createNotesStore(app.redis)) })
  return app
}
