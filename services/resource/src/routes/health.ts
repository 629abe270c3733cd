import type { FastifyPluginAsync } from 'fastify'
import { Type } from '@fastify/type-provider-typebox'
import { errors } from '@ratchet/shared'
import { ErrorResponse } from '../schemas.js'

const Status = Type.Object({ status: Type.String() })

/**
 * Liveness (the process answers) and readiness: Redis and NATS connected, the signing
 * keys loaded, and the revocations replayed. A 503 names what is missing.
 */
const healthRoutes: FastifyPluginAsync = async (app) => {
  // probes call these every few seconds: log them only when something is wrong
  app.get('/health/live', { logLevel: 'warn', schema: { tags: ['health'], response: { 200: Status } } }, async () => ({ status: 'ok' }))

  app.get('/health/ready', { logLevel: 'warn', schema: { tags: ['health'], summary: 'Ready: Redis, NATS, the JWKS keys and the replayed revocations in place (503 names what is missing)', response: { 200: Status, 503: ErrorResponse } } }, async () => {
    const missing: string[] = []
    if (app.redis.status !== 'ready') missing.push('Redis is not connected')
    if (!app.nats.connected) missing.push('NATS is not connected')
    if (app.keys.size === 0) missing.push('no signing keys loaded from the JWKS')
    if (!app.revocationFollower.caughtUp) missing.push('revocations not replayed yet')
    if (missing.length > 0) throw new errors.RATCHET_NOT_READY(missing.join(', '))
    return { status: 'ok' }
  })
}

export default healthRoutes
