import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Redis, RedisOptions } from 'ioredis'
import { closeRedis, createRedisClient, type RedisTarget } from '@ratchet/shared'

// ioredis raises these client-side with no code of their own: the exact messages it
// uses (ioredis/built), compared whole, never searched in.
const CLIENT_SIDE_OUTAGES = new Set([
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
  "Cluster isn't ready and enableOfflineQueue options is false",
  'Command timed out',
  'None of startup nodes is available',
  'Cluster is disconnected.',
  'All keys in the pipeline should belong to the same slots allocation group'
])
// error classes ioredis gives to "could not reach a server"
const OUTAGE_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError'])
// socket errors (err.code)
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND'])
// Redis replies whose error code (the reply's first word, RESP) means "not now" rather than "wrong command"
const TRANSIENT_REPLIES = new Set(['LOADING', 'CLUSTERDOWN', 'TRYAGAIN', 'MASTERDOWN'])

/** True for the errors ioredis raises when Redis cannot be reached (as opposed to a bad command): a 503, not a 500. */
export function isRedisUnavailable (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (OUTAGE_NAMES.has(err.name) || CLIENT_SIDE_OUTAGES.has(err.message)) return true
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return true
  if (err.name !== 'ReplyError') return false
  const space = err.message.indexOf(' ')
  return TRANSIENT_REPLIES.has(space === -1 ? err.message : err.message.slice(0, space))
}

/**
 * Connection options for both services: fail fast while Redis is away (no
 * offline queue, one retry, short timeouts), so a request gets a 503 at once
 * rather than hanging, and reconnect forever, so a service recovers by itself.
 */
export const redisClientOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  connectTimeout: 2000,
  retryStrategy: (times: number) => Math.min(50 * times, 1000)
} as const satisfies RedisOptions

/** Connects, retrying until `timeoutMs`: a service may start before Redis answers. */
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

export interface RedisPluginOptions {
  target: RedisTarget
  /**
   * 'boot': wait for Redis (up to 30 s) before the app is built, for a service
   * that cannot start without it (the auth service's keys live there);
   * 'background': start at once and report not-ready until it answers.
   */
  connect: 'boot' | 'background'
}

/**
 * Creates the service's Redis client (a Cluster when the target names one),
 * decorates the app with it as `redis`, and closes it with the app. Each
 * service types the decorator in its own plugins/redis.ts.
 */
async function redisPlugin (app: FastifyInstance, { target, connect }: RedisPluginOptions) {
  // in the background the client connects (and reconnects) on its own from the start
  const redis = createRedisClient(target, { lazyConnect: connect === 'boot', ...redisClientOptions })
  let down = false
  let closing = false
  redis.on('error', (err: Error) => {
    if (!down && !closing) app.log.warn({ reason: err.message }, 'Redis is unavailable')
    down = true
  })
  redis.on('ready', () => {
    if (down) app.log.info('Redis is back')
    down = false
  })
  app.decorate('redis', redis)
  app.addHook('onClose', async () => {
    closing = true
    // QUIT with a deadline, else a disconnect that fails what the client holds (see closeRedis)
    await closeRedis(redis)
  })
  if (connect === 'boot') await connectRedis(redis)
}

export const redisClient = fp(redisPlugin, { name: 'redis', fastify: '5.x' })
