import fp from 'fastify-plugin'
import { Type } from 'typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { METRICS_CONTENT_TYPE, type AppMetrics } from '@ratchet/shared'

export interface MetricsOptions {
  metrics: AppMetrics
  /** more to count from each answer (the auth service counts logins); synchronous: it runs on every request */
  onResponse?: (request: FastifyRequest, reply: FastifyReply) => void
}

/**
 * Times every request by route pattern (never the raw URL: ids in paths would
 * make a series each) and serves GET /metrics. Registered before the routes,
 * so its hook sees them all.
 */
async function metricsPlugin (app: FastifyInstance, { metrics, onResponse }: MetricsOptions) {
  app.addHook('onResponse', function recordRequest (request, reply, done) {
    metrics.observeRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000)
    onResponse?.(request, reply)
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

export const metricsRoute = fp(metricsPlugin, { name: 'ratchet-metrics', fastify: '5.x' })
