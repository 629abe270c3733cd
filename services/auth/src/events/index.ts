import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { NatsConnection } from 'nats'
import { subjects, type AuthConfig } from '@ratchet/shared'
import type { NatsLink } from '@ratchet/fastify'
import type { SessionStore } from '../stores/sessions.js'
import type { UserStore } from '../stores/users.js'
import { ensureStream, retentionSeconds } from './stream.js'
import { createRelay } from './relay.js'
import { createEventConsumer, createRevoker, type EventHandler } from './consumer.js'

export { eventCounters } from './counters.js'

export interface EventsOptions {
  config: Pick<AuthConfig, 'NATS_URL' | 'NATS_STREAM' | 'NATS_SUBJECT_PREFIX' | 'NATS_STREAM_REPLICAS' | 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_PREFIX' | 'ACCESS_TOKEN_TTL' | 'CLOCK_LEEWAY'>
  redis: Redis
  /** the service's NATS link (plugins/nats.ts), which outlives the events: it is drained after them */
  nats: NatsLink
  sessions: Pick<SessionStore, 'revoke' | 'revokeUser'>
  /** for user.deleted: the account's records go too */
  users?: Pick<UserStore, 'remove'>
  log: FastifyBaseLogger
  /** further durable consumers of the stream (the Shared Signals feed), run beside the revoker */
  handlers?: EventHandler[]
}

/** Dedup window on the event id: far longer than a relay takes to retry a publish. */
const DUPLICATE_WINDOW_SECONDS = 120

/**
 * The auth service's side of the events: the stream (created or widened on every
 * connection), the outbox relay, and the durable consumer that revokes sessions.
 * Returns at once; NATS may come later. Ready once connected and the stream is in place.
 */
export async function startEvents ({ config, redis, nats: link, sessions, users, log, handlers = [] }: EventsOptions) {
  const elog = log.child({ component: 'events' })
  const spec = {
    name: config.NATS_STREAM,
    subject: subjects(config.NATS_SUBJECT_PREFIX).all,
    maxAgeSeconds: retentionSeconds(config.ACCESS_TOKEN_TTL, config.CLOCK_LEEWAY),
    duplicateWindowSeconds: DUPLICATE_WINDOW_SECONDS,
    replicas: config.NATS_STREAM_REPLICAS
  }
  let streamReady = false
  let revokerStarted = false
  let preparing = false
  let current: NatsConnection | undefined
  let closing = false
  let retry: NodeJS.Timeout | undefined

  const relay = createRelay({
    target: config,
    redis,
    stream: config.NATS_STREAM,
    natsPrefix: config.NATS_SUBJECT_PREFIX,
    log: elog,
    whenConnected: link.whenConnected,
    // the stream may have gone while we stayed connected (deleted by hand, or
    // a server that lost its store behind a load balancer): put it back
    onPublishFailure: () => { if (!preparing && current !== undefined) prepare(current).catch(() => {}) }
  })
  const consumerOptions = { stream: config.NATS_STREAM, prefix: config.NATS_SUBJECT_PREFIX, log: elog, whenConnected: link.whenConnected, leewaySeconds: config.CLOCK_LEEWAY }
  const revoker = createRevoker({ ...consumerOptions, sessions, users })
  const consumers = [revoker, ...handlers.map((h) => createEventConsumer(consumerOptions, h))]

  // after every (re)connection: the server may have come back without the stream
  async function prepare (nc: NatsConnection, attempt = 1): Promise<void> {
    if (closing || nc.isClosed()) return
    current = nc
    preparing = true
    try {
      await ensureStream(await nc.jetstreamManager(), spec, elog)
      preparing = false
      streamReady = true
      // consume only once the stream exists (first time), and look again after a reconnect
      if (revokerStarted) for (const c of consumers) c.restart()
      else { revokerStarted = true; for (const c of consumers) c.start() }
    } catch (err) {
      streamReady = false
      if (attempt === 1) elog.warn({ stream: spec.name, reason: (err as Error).message }, 'cannot create or check the event stream; retrying')
      retry = setTimeout(() => { prepare(nc, attempt + 1).catch(() => {}) }, Math.min(200 * attempt, 5000))
      retry.unref()
    }
  }
  link.onConnect((nc) => { streamReady = false; prepare(nc).catch(() => {}) })

  relay.start()

  return {
    /** NATS connected and the stream in place: what /health/ready reports */
    connected: (): boolean => link.connected() && streamReady,
    async close (): Promise<void> {
      closing = true
      if (retry !== undefined) clearTimeout(retry)
      await Promise.all([relay.stop(), ...consumers.map(async (c) => { await c.stop() })])
    }
  }
}

export type Events = Awaited<ReturnType<typeof startEvents>>
