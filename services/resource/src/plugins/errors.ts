import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance } from 'fastify'
import { errors } from '@ratchet/shared'
import { isRedisUnavailable } from '../stores/redis-errors.js'

/**
 * One error handler, one body shape ({statusCode, code, error, message}, plus requestId on
 * a 5xx), the same as the auth service's. The request id travels in the x-request-id header
 * of every response: a 4xx body depends only on what was asked, so equal failures give
 * equal bodies (see docs/observability.md). Catalogue errors (RATCHET_*) and Fastify's own 4xx (a
 * validation error names the field) go out as they are, with their RFC 6750 challenge
 * when they carry one; Redis being away becomes 503; any other 5xx is logged and hidden.
 */
async function errorsPlugin (app: FastifyInstance) {
  app.addHook('onRequest', (request, reply, done) => { reply.header('x-request-id', request.id); done() })
  app.setErrorHandler((raw: FastifyError & { challenge?: string }, request, reply) => {
    const err: FastifyError & { challenge?: string } = isRedisUnavailable(raw) ? new errors.RATCHET_DEPENDENCY_UNAVAILABLE('Redis') : raw
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (status >= 500 && !(typeof err.code === 'string' && err.code.startsWith('RATCHET_'))) {
      request.log.error({ err }, 'request failed')
      return reply.code(500).send({ statusCode: 500, code: 'RATCHET_INTERNAL', error: STATUS_CODES[500], message: 'Internal server error', requestId: request.id })
    }
    if (status === 503) {
      // not-ready answers are expected (probes ask until we are); an outage is worth a warning
      if (err.code === 'RATCHET_DEPENDENCY_UNAVAILABLE') request.log.warn({ code: err.code, reason: err.message }, 'dependency unavailable')
      reply.header('retry-after', '1')
    }
    if (err.challenge !== undefined) reply.header('www-authenticate', err.challenge)
    return reply.code(status).send({ statusCode: status, code: err.code ?? 'RATCHET_ERROR', error: STATUS_CODES[status] ?? 'Error', message: err.message, ...(status >= 500 ? { requestId: request.id } : {}) })
  })
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ statusCode: 404, code: 'RATCHET_NOT_FOUND', error: 'Not Found', message: `Route ${request.method} ${request.url.split('?')[0] ?? ''} not found` })
  })
}

export default fp(errorsPlugin, { name: 'errors', fastify: '5.x' })
