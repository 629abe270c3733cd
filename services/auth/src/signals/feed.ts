import type { RatchetEvent } from '@ratchet/shared'
import type { EventHandler } from '../events/consumer.js'
import type { SsfQueue } from '../stores/ssf-queue.js'
import type { SsfStreamStore } from '../stores/ssf-streams.js'
import { isRevocation, revocationSet, SESSION_REVOKED } from './set.js'

/** The feed's durable consumer on the event stream, shared by every auth instance. // wire contract */
export const SIGNALS_DURABLE = 'auth-signals'

export interface FeedOptions {
  streams: SsfStreamStore
  queue: SsfQueue
  /** told when SETs were queued, so the delivery worker pushes them at once */
  queued: () => void
  maxAgeMs: number
  /** allowed clock skew between the instance that logged out and the one that created the stream (ms) */
  leewayMs: number
}

/** Process-wide counts of events the feed consumed (the revoker keeps its own). */
export const feedCounters = { applied: 0, skipped: 0, retried: 0 }

/**
 * Turns each revocation on the event stream (the one the outbox relay feeds, so
 * whatever reached NATS) into one queued SET per stream that asked for it. The
 * event is acked only once every stream's SET is in Redis; a redelivered event
 * finds its SETs already queued and adds none.
 */
export function createFeed (opts: FeedOptions): EventHandler {
  return {
    durable: SIGNALS_DURABLE,
    counters: feedCounters,
    async apply (event: RatchetEvent): Promise<void> {
      const now = Date.now()
      const atMs = event.data.at * 1000
      if (!isRevocation(event) || atMs < now - opts.maxAgeMs) return
      const targets = (await opts.streams.list()).filter(({ stream }) =>
        stream.events_delivered.includes(SESSION_REVOKED) &&
        // a stream hears what happened after it was created, not the stream's history
        atMs >= stream.created_at - opts.leewayMs)
      const queued = await Promise.all(targets.map(async ({ stream }) => {
        const body = revocationSet(stream.stream_id, event, now)
        return await opts.queue.enqueue(stream.stream_id, { id: body.jti, claims: JSON.stringify(body) }, now, Math.ceil(opts.maxAgeMs / 1000) + 3600)
      }))
      if (queued.includes(true)) opts.queued()
    }
  }
}
