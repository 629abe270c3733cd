import { readFileSync } from 'node:fs'
import Fastify, { type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { browserOrigins, trustProxyOf, type AuthConfig } from '@ratchet/shared'
import { docs, errorHandler, healthRoutes, lazyRequestLogger, metricsRoute, requestIds, serverTimeouts } from '@ratchet/fastify'
import redisPlugin from './plugins/redis.js'
import natsPlugin from './plugins/nats.js'
import keysPlugin from './plugins/keys.js'
import { createJwt } from './tokens/jwt.js'
import jwtPlugin from './plugins/jwt.js'
import { createTokenService } from './tokens/service.js'
import { createAuthDpop, DPOP_NONCE_HEADER, nonceSecretFrom } from './tokens/dpop.js'
import { createDpopProofStore } from './stores/dpop-proofs.js'
import { createSessionStore } from './stores/sessions.js'
import { createUserStore } from './stores/users.js'
import { createOutbox } from './stores/outbox.js'
import { startEvents } from './events/index.js'
import { createSignals } from './signals/index.js'
import { createPasswords } from './passwords.js'
import { createAccountService } from './accounts/service.js'
import { createLoginBackoff } from './stores/login-backoff.js'
import { accountRoutes } from './routes/accounts.js'
import { refreshRoutes } from './routes/refresh.js'
import { sessionRoutes } from './routes/sessions.js'
import { wellKnownRoutes } from './routes/well-known.js'
import { oauthRoutes } from './routes/oauth.js'
import { metadataRoutes } from './routes/metadata.js'
import type { RouteDeps } from './routes/context.js'
import securityPlugin from './plugins/security.js'
import cookiesPlugin from './plugins/cookies.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import { createAuthMetrics } from './metrics.js'
import requestLogPlugin, { requestLog } from './plugins/request-log.js'

/** the service's package.json, one level up from src/ and dist/ alike (the image keeps it) */
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

export interface BuildOptions {
  logger?: FastifyServerOptions['logger']
  /** ms since the epoch; tests inject a clock to move session time */
  now?: () => number
}

/** Never log a credential, whatever a future log line includes. */
export const redactPaths = ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.refresh_token', '*.access_token', '*.token']

export async function buildApp (config: AuthConfig, opts: BuildOptions = {}) {
  const now = opts.now ?? Date.now
  const app = Fastify({
    logger: opts.logger ?? { level: config.LOG_LEVEL, redact: redactPaths },
    bodyLimit: 64 * 1024,
    genReqId: requestIds(),
    // a request's pino child is only built when the request logs something
    childLoggerFactory: lazyRequestLogger,
    trustProxy: trustProxyOf(config.TRUST_PROXY),
    requestIdHeader: false,
    // Node's defaults hold a slow body or a silent connection for ever
    ...serverTimeouts(config),
    // no coercion and no silent stripping: a number is not a string and an
    // unknown property is an error, not ignored
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } }
  }).withTypeProvider<TypeBoxTypeProvider>()
  await app.register(errorHandler)
  // first, so every answer carries the request id and the security headers, /docs and /metrics too
  await app.register(securityPlugin, { origins: browserOrigins(config) })
  // the keys live in Redis: without it the service cannot sign, so it waits at boot
  await app.register(redisPlugin, { target: config, connect: 'boot' })
  // NATS may come later: the outbox holds the events until it does
  await app.register(natsPlugin, { servers: config.NATS_URL, name: 'ratchet-auth' })
  await app.register(keysPlugin, { config, now })
  const { redis, signingKeys: keys } = app

  const passwords = createPasswords({ memoryCost: config.ARGON2_MEMORY_KIB, timeCost: config.ARGON2_TIME_COST, parallelism: config.ARGON2_PARALLELISM }, config.ARGON2_MAX_CONCURRENT)
  await passwords.warm()
  const jwtOptions = { issuer: config.ISSUER, audience: config.AUDIENCE, leewaySeconds: config.CLOCK_LEEWAY, now }
  await app.register(jwtPlugin, { ring: keys.ring, options: jwtOptions })
  const jwt = createJwt(keys.ring, jwtOptions)
  const sessions = createSessionStore(redis, config.REDIS_PREFIX)
  const users = createUserStore(redis)
  const outbox = createOutbox(redis)
  const metrics = createAuthMetrics(redis)
  const tokens = createTokenService({
    config,
    jwt,
    sessions,
    outbox,
    now,
    // the request's logger when there is one, so the line carries the request id
    onSecurityEvent: (event, detail) => { requestLog(app.log).info({ event, ...detail }, `security event: ${event}`); metrics.securityEvent(event, detail) },
    onRefresh: metrics.refresh
  })

  const accounts = createAccountService({
    users,
    passwords,
    tokens,
    outbox,
    // the same counters the login route's back-off keeps (plugins/rate-limit.ts)
    backoff: config.RATE_LIMITS === 'on'
      ? createLoginBackoff(redis, { free: config.LOGIN_FREE_FAILURES, maxMs: config.LOGIN_BACKOFF_MAX * 1000, ttlMs: config.LOGIN_FAILURE_TTL * 1000 })
      : undefined,
    now,
    log: () => requestLog(app.log)
  })

  // Shared Signals: fed by its own durable consumer of the event stream
  const signals = createSignals({ config, redis, ring: keys.ring, registry: metrics.registry, log: app.log })
  const events = await startEvents({ config, redis, nats: app.nats, sessions, users, log: app.log, handlers: [signals.feed] })
  app.addHook('onClose', async () => { await Promise.all([events.close(), signals.close()]) })
  signals.start()

  const dpop = createAuthDpop({ config, replay: createDpopProofStore(redis), nonceSecret: () => nonceSecretFrom(Buffer.from(keys.ring().refreshKey.secret, 'base64url')), now })
  // RFC 9449 §8.2: a fresh nonce on every answer, so a client never needs an extra round trip
  if (dpop.noncesOn) app.addHook('onRequest', async (_request, reply) => { reply.header(DPOP_NONCE_HEADER, dpop.currentNonce()) })

  const deps: RouteDeps = {
    config,
    tokens,
    accounts,
    ring: keys.ring,
    dpop
  }
  // before the routes: both read them as they are added (docs first, so /metrics is documented too)
  await app.register(docs, {
    title: 'Ratchet auth service',
    version,
    description: 'Sign-up, login, refresh-token rotation, logout and the OAuth endpoints (RFC 6749 §6, RFC 7009, RFC 7662, RFC 8414). /v1 bodies are JSON; /oauth bodies are form-encoded.'
  })
  await app.register(metricsRoute, {
    metrics,
    token: config.METRICS_TOKEN,
    // a login attempt is counted from the login route's answer
    onResponse: (request, reply) => { if (request.routeOptions.url === '/v1/login' && request.method === 'POST') metrics.login(reply.statusCode) }
  })
  await app.register(requestLogPlugin)
  await app.register(cookiesPlugin)
  // before the routes: it attaches its limits as they are added
  await app.register(rateLimitPlugin, { config, redis, ring: keys.ring, now })
  await app.register(accountRoutes, deps)
  await app.register(refreshRoutes, deps)
  await app.register(sessionRoutes, deps)
  await app.register(wellKnownRoutes, deps)
  await app.register(metadataRoutes, deps)
  await app.register(oauthRoutes, deps)
  await app.register(healthRoutes, {
    summary: 'Ready: Redis and NATS connected, the event stream in place (503 names what is missing)',
    checks: [
      { name: 'redis', missing: 'Redis is not connected', ready: async () => await redis.ping().then(() => true, () => false) },
      { name: 'nats', missing: 'NATS is not connected or the event stream is missing', ready: () => events.connected() }
    ]
  })
  await app.register(signals.routes)
  return app
}
