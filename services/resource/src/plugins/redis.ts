import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'

declare module 'fastify' {
  interface FastifyInstance { redis: Redis }
}

export interface RedisPluginOptions { url: string, prefix: string }

/**
 * The Redis client. It connects in the background and reconnects forever, and it fails
 * commands at once while disconnected (no offline queue, a command timeout), so a Redis
 * outage is a quick 503 on the notes routes rather than hung requests, and the service
 * recovers by itself when Redis returns.
 */
async function redisPlugin (app: FastifyInstance, opts: RedisPluginOptions) {
  const redis = new Redis(opts.url, {
    keyPrefix: opts.prefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000)
  })
  let down = false
  let closing = false
  redis.on('error', (err) => {
    if (!down && !closing) app.log.warn({ err: err.message }, 'Redis is unavailable')
    down = true
  })
  redis.on('ready', () => {
    if (down) app.log.info('Redis is back')
    down = false
  })
  app.decorate('redis', redis)
  app.addHook('onClose', async () => {
    closing = true
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect())
    else redis.disconnect()
  })
}

export default fp(redisPlugin, { name: 'redis', fastify: '5.x' })
