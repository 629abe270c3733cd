import { STATUS_CODES } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { catalogued, errors } from '@ratchet/shared'
import { isRedisUnavailable } from './redis.js'

/** The one error body; requestId only on a 5xx. // wire contract */
export interface ErrorBody { statusCode: number, code: string, error: string, message: string, requestId?: string }

/** An error as it goes out: its body and the headers that travel with it. */
export interface ErrorAnswer { body: ErrorBody, challenge?: string | undefined, retryAfter?: number | undefined }

/**
 * Turns any error into the one shape. Catalogue errors and Fastify's own 4xx
 * (a validation error names the field) are answered as they are; Redis being
 * away becomes 503; anything else is logged and hidden behind a 500. The
 * request id travels in the x-request-id header; in a body only on a 5xx: a
 * 4xx body depends only on what was asked, so equal failures give
 * byte-for-byte equal bodies (login).
 */
export function toErrorAnswer (raw: FastifyError & { challenge?: string, retryAfter?: number }, request: FastifyRequest): ErrorAnswer {
  const err: FastifyError & { challenge?: string, retryAfter?: number } = isRedisUnavailable(raw) ? new errors.RATCHET_DEPENDENCY_UNAVAILABLE('Redis') : raw
  const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
  if (status >= 500 && catalogued(err.code) === undefined) {
    request.log.error({ err }, 'request failed')
    const hidden = new errors.RATCHET_INTERNAL()
    return { body: { statusCode: 500, code: hidden.code, error: STATUS_CODES[500]!, message: hidden.message, requestId: request.id } }
  }
  // not-ready answers are expected (probes ask until we are); an outage is worth a warning
  if (err.code === 'RATCHET_DEPENDENCY_UNAVAILABLE') request.log.warn({ code: err.code, reason: err.message }, 'dependency unavailable')
  return {
    body: { statusCode: status, code: err.code ?? errors.RATCHET_ERROR.code, error: STATUS_CODES[status] ?? 'Error', message: err.message, ...(status >= 500 ? { requestId: request.id } : {}) },
    challenge: err.challenge,
    // a throttled attempt says when it may come again (seconds)
    retryAfter: status === 429 ? err.retryAfter : undefined
  }
}

/** Sends an answer from toErrorAnswer: a 503 says when to retry, a bearer failure carries its challenge. */
export function sendError (reply: FastifyReply, { body, challenge, retryAfter }: ErrorAnswer): FastifyReply {
  if (body.statusCode === 503) reply.header('retry-after', '1')
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter))
  if (challenge !== undefined) reply.header('www-authenticate', challenge)
  return reply.code(body.statusCode).send(body)
}

/**
 * One error handler and one not-found answer for the whole app. The request id
 * goes on every response (x-request-id) with the other common headers (apiHeaders).
 */
async function errorsPlugin (app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError & { challenge?: string, retryAfter?: number }, request, reply) => sendError(reply, toErrorAnswer(err, request)))
  app.setNotFoundHandler((request, reply) => {
    const err = new errors.RATCHET_NOT_FOUND(`${request.method} ${request.url.split('?')[0] ?? ''}`)
    return reply.code(404).send({ statusCode: 404, code: err.code, error: STATUS_CODES[404]!, message: err.message })
  })
}

export const errorHandler = fp(errorsPlugin, { name: 'ratchet-errors', fastify: '5.x' })
