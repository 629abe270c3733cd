import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import { Type } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { counterFrom, createAppMetrics, gaugeFrom, labelledCounterFrom, METRICS_CONTENT_TYPE } from '@ratchet/shared'

/**
 * The resource service's metrics, one registry per app (tests run several apps in
 * one process). The numbers live where the work is done (the key store, the
 * verifier, the revocation follower and list) and are read at scrape time, so the
 * hot path pays an increment and nothing else.
 */
async function metricsPlugin (app: FastifyInstance) {
  const metrics = createAppMetrics()
  const { registry } = metrics
  const { keys, tokens, revocations, revocationFollower: follower } = app

  counterFrom(registry, 'ratchet_resource_revocations_applied_total', 'Revocation events applied to this instance\'s list (replayed and live)', () => follower.applied)
  counterFrom(registry, 'ratchet_resource_events_skipped_total', 'Malformed events skipped', () => follower.skipped)
  gaugeFrom(registry, 'ratchet_resource_revocations_caught_up', '1 once the replay of stored revocations is done (the service is not ready before)', () => follower.caughtUp ? 1 : 0)
  registry.registerMetric(new Gauge({
    name: 'ratchet_resource_revocation_list_size',
    help: 'Revocations held in memory, by kind (sessions: by sid, users: by sub and auth_time)',
    labelNames: ['kind'] as const,
    registers: [],
    collect () {
      const size = revocations.size
      this.set({ kind: 'sessions' }, size.sessions)
      this.set({ kind: 'users' }, size.users)
    }
  }))
  counterFrom(registry, 'ratchet_resource_jwks_refreshes_total', 'JWKS fetches (scheduled, and for unknown kids)', () => keys.fetches)
  counterFrom(registry, 'ratchet_resource_jwks_refresh_failures_total', 'JWKS fetches that loaded no key (the keys held are kept)', () => keys.fetchFailures)
  gaugeFrom(registry, 'ratchet_resource_jwks_keys', 'Verification keys loaded from the JWKS', () => keys.size)
  labelledCounterFrom(registry, 'ratchet_resource_token_cache_lookups_total', 'Verified-token cache lookups by result (hit: the signature check was skipped)', 'result', () => ({ hit: tokens.cacheHits, miss: tokens.cacheMisses }))
  gaugeFrom(registry, 'ratchet_resource_token_cache_entries', 'Verified tokens held in the cache', () => tokens.cacheSize)

  // by route pattern, never the raw URL (note ids would make a series each)
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
  app.get('/metrics', {
    // scrapes come every few seconds: log them only when something is wrong
    logLevel: 'warn',
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics',
      response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String() } } } }
    }
  }, async (_request, reply) => {
    return reply.type(METRICS_CONTENT_TYPE).send(await metrics.scrape())
  })
}

export default fp(metricsPlugin, { name: 'metrics', fastify: '5.x', dependencies: ['keys', 'revocations', 'authenticate'] })
