import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { METRICS_CONTENT_TYPE, errors, type AppMetrics } from '@ratchet/shared'
import { ErrorResponse } from './schemas.js'

export interface MetricsOptions {
  metrics: AppMetrics
  /** more to count from each answer (the auth service counts logins); synchronous: it runs on every request */
  onResponse?: (request: FastifyRequest, reply: FastifyReply) => void
  /** METRICS_TOKEN: when set, a scrape must send it as a bearer token */
  token?: string
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Whether the Authorization header carries `token`; compared in constant time over digests, so neither its bytes nor its length leak. */
function scrapeAllowed (header: string | undefined, token: string): boolean {
  const sent = header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : ''
  return timingSafeEqual(digest(sent), digest(token))
}

/**
 * Times every request by route pattern (never the raw URL: ids in paths would
 * make a series each) and serves GET /metrics. Registered before the routes,
 * so its hook sees them all.
 */
async function metricsPlugin (app: FastifyInstance, { metrics, onResponse, token = '' }: MetricsOptions) {
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
      ...(token !== '' ? { security: [{ bearerAuth: [] }] } : {}),
      response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String() } } }, 401: ErrorResponse }
    }
  }, async (request, reply) => {
    // the series name routes, counts and key ids: worth keeping from whoever can reach the port
    if (token !== '' && !scrapeAllowed(request.headers.authorization, token)) throw new errors.RATCHET_METRICS_UNAUTHORIZED()
    return reply.type(METRICS_CONTENT_TYPE).send(await metrics.scrape())
  })
}

export const metricsRoute = fp(metricsPlugin, { name: 'ratchet-metrics', fastify: '5.x' })
