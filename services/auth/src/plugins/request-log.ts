import { AsyncLocalStorage } from 'node:async_hooks'
import fp from 'fastify-plugin'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'

const storage = new AsyncLocalStorage<FastifyBaseLogger>()

/**
 * The logger of the request being handled (its lines carry the request id), or
 * `fallback` outside a request. For code that is called from a route but has no
 * request in hand, such as the token service's security events.
 */
export function requestLog (fallback: FastifyBaseLogger): FastifyBaseLogger {
  return storage.getStore() ?? fallback
}

/**
 * Enters the request's logger into the async context. preHandler, not onRequest:
 * the body is parsed from socket events in between, which would lose the context.
 */
async function requestLogPlugin (app: FastifyInstance) {
  app.addHook('preHandler', (request, _reply, done) => { storage.run(request.log, done) })
}

export default fp(requestLogPlugin, { name: 'ratchet-request-log', fastify: '5.x' })
