import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { errors } from '@ratchet/shared'
import { ErrorResponse } from './schemas.js'

/** One thing /health/ready waits for. */
export interface ReadinessCheck {
  /** its key in `checks` // wire contract */
  name: string
  ready: () => boolean | Promise<boolean>
  /** what the 503 message says while it is not ready */
  missing: string
}

const Checks = Type.Record(Type.String(), Type.Boolean())
const Live = Type.Object({ status: Type.String() })
const Ready = Type.Object({ status: Type.String(), checks: Checks })
const NotReady = Type.Object({ ...ErrorResponse.properties, checks: Checks })

/**
 * GET /health/live (the process answers) and GET /health/ready: 200
 * `{status: 'ready', checks}` when every check passes; otherwise 503 in the one
 * error shape (RATCHET_NOT_READY, the message naming what is missing) with the
 * same `checks` beside it. Both services answer the same body.
 */
export async function healthRoutes (app: FastifyInstance, { checks, summary }: { checks: readonly ReadinessCheck[], summary: string }): Promise<void> {
  // probes call these every few seconds: log them only when something is wrong
  app.get('/health/live', { logLevel: 'warn', schema: { tags: ['health'], response: { 200: Live } } }, async (_request, reply) => {
    // loadable without CORS from any page: @ratchet/client asks it so to tell a page
    // whose origin CORS refuses from a server that is down; it says nothing else
    reply.header('cross-origin-resource-policy', 'cross-origin')
    return { status: 'ok' }
  })
  app.get('/health/ready', { logLevel: 'warn', schema: { tags: ['health'], summary, response: { 200: Ready, 503: NotReady } } }, async (request, reply) => {
    const results = await Promise.all(checks.map(async (c) => await c.ready()))
    const state = Object.fromEntries(checks.map((c, i) => [c.name, results[i] === true]))
    const missing = checks.filter((_c, i) => results[i] !== true).map((c) => c.missing)
    if (missing.length === 0) return { status: 'ready', checks: state }
    const err = new errors.RATCHET_NOT_READY(missing.join(', '))
    return reply.code(503).header('retry-after', '1').send({ statusCode: 503, code: err.code, error: 'Service Unavailable', message: err.message, requestId: request.id, checks: state })
  })
}
