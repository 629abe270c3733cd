import type { Redis } from 'ioredis'
import { createRedisClient, type RedisTarget } from '@ratchet/shared'

/** True for the errors ioredis raises when Redis cannot be reached (as opposed to a bad command). */
export function isRedisUnavailable (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err.name === 'MaxRetriesPerRequestError') return true
  return /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Command timed out|LOADING|CLUSTERDOWN|TRYAGAIN|All keys in the pipeline|Cluster isn't ready|Failed to refresh slots cache|None of startup nodes is available/.test(err.message)
}

/**
 * A client that fails fast while Redis is away (no offline queue, one retry),
 * so requests get 503 at once rather than hanging, and that reconnects on its
 * own so the service recovers without a restart. A Redis Cluster when the
 * target names one (REDIS_CLUSTER_NODES or a redis+cluster:// REDIS_URL).
 */
export function createRedis (target: RedisTarget): Redis {
  return createRedisClient(target, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * times, 1000)
  })
}

/** Connects, retrying for a while: a service may start before Redis answers. */
export async function connectRedis (redis: Redis, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if (redis.status === 'wait') await redis.connect()
      if (redis.status === 'ready') return
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('Redis did not become ready')), 1000)
        redis.once('ready', () => { clearTimeout(t); resolve() })
      })
      return
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`cannot reach Redis: ${(err as Error).message}`)
    }
  }
}
