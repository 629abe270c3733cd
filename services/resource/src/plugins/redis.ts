import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { closeRedis, createRedisClient } from '@ratchet/shared'

declare module 'fastify' {
  interface FastifyInstance { redis: Redis }
}

export interface RedisPluginOptions {
  url: string
  prefix: string
  /** REDIS_CLUSTER_NODES: seed nodes of a Redis Cluster; empty (or absent) with a plain URL: one server */
  clusterNodes?: string
}

/**
 * The Redis client. It connects in the background and reconnects forever, and it fails
 * commands at once while disconnected (no offline queue, a command timeout), so a Redis
 * outage is a quick 503 on the notes routes rather than hung requests, and the service
 * recovers by itself when Redis returns.
 */
async function redisPlugin (app: FastifyInstance, opts: RedisPluginOptions) {
  // a Cluster when the options name one (see createRedisClient)
  const redis = createRedisClient({ REDIS_URL: opts.url, REDIS_PREFIX: opts.prefix, REDIS_CLUSTER_NODES: opts.clusterNodes ?? '' }, {
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
    await closeRedis(redis)
  })
}

export default fp(redisPlugin, { name: 'redis', fastify: '5.x' })
