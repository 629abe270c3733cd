import type { FastifyBaseLogger } from 'fastify'
import { AckPolicy, DeliverPolicy, nanos, type JsMsg, type NatsConnection } from 'nats'
import { createConsumeLoop, createDurableKeeper, parseEvent, subjects } from '@ratchet/shared'

/**
 * Shared by every resource instance, so each deletion is applied once, and kept by
 * the server, so deletions published while no instance ran are applied when one
 * starts. // wire contract: deploy/nats.conf lets the resource user ack only this one
 */
export const DELETIONS_DURABLE = 'resource-account-deletions'

export interface DeletionsOptions {
  /** resolves once NATS is up (undefined: the link is closing) */
  connection: () => Promise<NatsConnection | undefined>
  stream: string
  prefix: string
  /** forgets everything this service keeps for a user; idempotent */
  forget: (sub: string) => Promise<void>
  log: FastifyBaseLogger
  /** wait before retrying after a failure (ms) */
  retryDelayMs?: number
  /** how often the watchdog checks the durable on the server (ms) */
  watchIntervalMs?: number
}

/**
 * Follows `user.deleted` through a durable pull consumer and forgets the user's data.
 * Unlike the revocation follower, which replays one access-token lifetime into memory,
 * a deletion must never be missed: it is acknowledged only once the data is gone, and
 * redelivered after a failure (Redis away).
 */
export function createDeletionConsumer (opts: DeletionsOptions) {
  const retryDelayMs = opts.retryDelayMs ?? 2000
  const counts = { applied: 0, skipped: 0 }

  const keeper = createDurableKeeper({
    stream: opts.stream,
    wanted: {
      durable_name: DELETIONS_DURABLE,
      ack_policy: AckPolicy.Explicit,
      // a consumer created after a deletion was stored still applies it: forgetting is idempotent
      deliver_policy: DeliverPolicy.All,
      filter_subject: subjects(opts.prefix).userDeleted,
      ack_wait: nanos(30_000)
    },
    api: async (nc: NatsConnection) => (await nc.jetstreamManager()).consumers,
    log: opts.log
  })

  async function handle (m: JsMsg): Promise<void> {
    const parsed = parseEvent(opts.prefix, m.subject, m.data)
    if (!parsed.ok || parsed.event.type !== 'user.deleted') {
      counts.skipped++
      opts.log.warn({ subject: m.subject, seq: m.seq, error: parsed.ok ? 'not user.deleted' : parsed.error }, 'skipping a malformed event')
      m.ack()
      return
    }
    const { sub, id } = parsed.event.data
    try {
      await opts.forget(sub)
    } catch (err) {
      opts.log.warn({ seq: m.seq, reason: (err as Error).message }, 'cannot forget a deleted user yet; retrying')
      m.nak(retryDelayMs)
      return
    }
    counts.applied++
    opts.log.info({ event: 'user_forgotten', id, sub }, 'deleted user\'s data removed')
    m.ack()
  }

  const loop = createConsumeLoop({
    connection: opts.connection,
    stream: opts.stream,
    durable: DELETIONS_DURABLE,
    ensure: keeper.ensure,
    pull: { max_messages: 100, expires: 5000 },
    handle,
    // shared by every instance and kept by the server, where it can be deleted or changed
    watch: { intervalMs: opts.watchIntervalMs ?? 5000, ours: keeper.ours },
    // the stream belongs to the auth service: until it exists, wait quietly
    onFailure: (err) => { opts.log.warn({ reason: err.message }, 'cannot consume account deletions; retrying') }
  })

  return { counts, start: loop.start, stop: loop.stop }
}

export type DeletionConsumer = ReturnType<typeof createDeletionConsumer>
