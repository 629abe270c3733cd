import type { FastifyPluginAsync } from 'fastify'
import { errors } from '@ratchet/shared'

/**
 * Liveness (the process answers) and readiness: Redis and NATS connected, the signing
 * keys loaded, and the revocations replayed. A 503 names what is missing.
 */
const healthRoutes: FastifyPluginAsync = async (app) => {
  // probes call these every few seconds: log them only when something is wrong
  app.get('/health/live', { logLevel: 'warn' }, async () => ({ status: 'ok' }))

  app.get('/health/ready', { logLevel: 'warn' }, async () => {
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
