import type { Redis } from 'ioredis'
import { redisClient } from '@ratchet/fastify'

declare module 'fastify' {
  interface FastifyInstance { redis: Redis }
}

/** `app.redis`: the service's Redis client, created, connected and closed by the plugin (see @ratchet/fastify). */
export default redisClient
