import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { Registry } from 'prom-client'
import { ConfigError, type AuthConfig } from '@ratchet/shared'
import type { KeyRing } from '../keys/ring.js'
import { basicClients } from '../routes/oauth-clients.js'
import { createSsfQueue } from '../stores/ssf-queue.js'
import { createSsfStreamStore } from '../stores/ssf-streams.js'
import { createDelivery } from './delivery.js'
import { compileUrlPattern } from './endpoint-url.js'
import { createFeed } from './feed.js'
import { createSignalMetrics } from './metrics.js'
import { signalRoutes } from './routes.js'
import { createSetSigner, verificationSet } from './set.js'

export interface SignalsOptions {
  config: Pick<AuthConfig, 'ISSUER' | 'CLOCK_LEEWAY' | 'SSF_RECEIVERS' | 'SSF_RECEIVER_URL_PATTERN' | 'SSF_DELIVERY_MAX_AGE' | 'SSF_DELIVERY_TIMEOUT' | 'SSF_RETRY_MAX_INTERVAL'>
  redis: Redis
  ring: () => KeyRing
  registry: Registry
  log: FastifyBaseLogger
}

function urlPatternOf (setting: string): RegExp | undefined {
  try {
    return compileUrlPattern(setting)
  } catch (err) {
    throw new ConfigError('SSF_RECEIVER_URL_PATTERN', `is not a valid regular expression (${(err as Error).message})`)
  }
}

/**
 * The Shared Signals transmitter (docs/signals.md): stream management routes,
 * the feed that turns revocations into queued SETs (a durable consumer for
 * startEvents), and the worker that pushes them.
 */
export function createSignals ({ config, redis, ring, registry, log }: SignalsOptions) {
  const slog = log.child({ component: 'signals' })
  const streams = createSsfStreamStore(redis)
  const queue = createSsfQueue(redis)
  const maxAgeMs = config.SSF_DELIVERY_MAX_AGE * 1000
  const delivery = createDelivery({
    streams,
    queue,
    sign: createSetSigner(ring),
    metrics: createSignalMetrics(registry, streams, queue),
    log: slog,
    timeoutMs: config.SSF_DELIVERY_TIMEOUT * 1000,
    maxAgeMs,
    retryCapMs: config.SSF_RETRY_MAX_INTERVAL * 1000
  })
  const routes = signalRoutes({
    issuer: config.ISSUER,
    receivers: basicClients(config.SSF_RECEIVERS),
    streams,
    urlPattern: urlPatternOf(config.SSF_RECEIVER_URL_PATTERN),
    async verify (streamId, state) {
      const now = Date.now()
      const body = verificationSet(streamId, state, now)
      await queue.enqueue(streamId, { id: body.jti, claims: JSON.stringify(body) }, now, 60)
      delivery.wake()
    },
    purge: queue.purge
  })
  const feed = createFeed({ streams, queue, queued: delivery.wake, maxAgeMs, leewayMs: config.CLOCK_LEEWAY * 1000 })
  return { routes, feed, start: delivery.start, close: delivery.close }
}

export type Signals = ReturnType<typeof createSignals>
