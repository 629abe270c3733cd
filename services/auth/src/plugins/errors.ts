import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '@ratchet/shared'
import { isRedisUnavailable } from './redis.js'

export interface ErrorBody { statusCode: number, code: string, error: string, message: string, requestId?: string }

const reasons: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' }

/**
 * Turns any error into one shape. 4xx are answered as they are; a dependency
 * that is away becomes 503; anything else is logged and hidden behind a 500.
 */
export function toErrorBody (err: FastifyError, request: FastifyRequest): ErrorBody {
  let e: FastifyError = err
  if (isRedisUnavailable(err)) e = new errors.RATCHET_DEPENDENCY_UNAVAILABLE('Redis')
  const statusCode = e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500
  // our own 503s (busy, not ready) say what they are; any other 5xx is hidden
  const ours = statusCode === 503 && e.code?.startsWith('RATCHET_') === true
  if (statusCode >= 500 && e === err && !ours) {
    request.log.error({ err }, 'request failed')
    return { statusCode: 500, code: 'RATCHET_INTERNAL', error: reasons[500]!, message: 'Internal server error', requestId: request.id }
  }
  if (statusCode === 503) request.log.warn({ code: e.code, reason: e.message }, 'dependency unavailable')
  // no request id here: equal failures must give byte-for-byte equal bodies
  // (login); it travels in the x-request-id header instead
  return { statusCode, code: e.code ?? 'RATCHET_ERROR', error: reasons[statusCode] ?? 'Error', message: e.message }
}

export function registerErrorHandler (app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const body = toErrorBody(err, request)
    if (body.statusCode === 503) reply.header('retry-after', '1')
    const retryAfter = (err as { retryAfter?: number }).retryAfter
    if (body.statusCode === 429 && retryAfter !== undefined) reply.header('retry-after', String(retryAfter))
    const challenge = (err as { wwwAuthenticate?: string }).wwwAuthenticate
    if (challenge !== undefined) reply.header('www-authenticate', challenge)
    return reply.code(body.statusCode).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ statusCode: 404, code: 'RATCHET_NOT_FOUND', error: 'Not Found', message: `Route ${request.method} ${request.url.split('?')[0] ?? ''} not found` })
  })
}
