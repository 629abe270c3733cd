import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type JsMsg, type NatsConnection } from 'nats'
import type { FastifyBaseLogger } from 'fastify'
import { clampEventTimes, createConsumeLoop, createDurableKeeper, durableDrift, parseEvent, storedAtMs, type RatchetEvent } from '@ratchet/shared'
import type { SessionStore } from '../stores/sessions.js'
import type { UserStore } from '../stores/users.js'
import { eventCounters } from './counters.js'

/** Shared by every auth instance: each event is applied by one of them. // wire contract */
export const REVOKER_DURABLE = 'auth-revoker'

/** How often a running consumer asks the server whether its durable is still there and still ours (ms). */
const WATCH_INTERVAL_MS = 5000

export interface ConsumerOptions {
  stream: string
  /** NATS_SUBJECT_PREFIX */
  prefix: string
  log: FastifyBaseLogger
  /** resolves once NATS is up (undefined: the subsystem is closing) */
  whenConnected: () => Promise<NatsConnection | undefined>
  /** CLOCK_LEEWAY: how far past its arrival an event's `before` and `at` may reach */
  leewaySeconds: number
  /** delay before an event is redelivered after the session store failed (ms) */
  retryDelayMs?: number
  /** how often the watchdog checks the durable's configuration on the server (ms) */
  watchIntervalMs?: number
}

export interface RevokerOptions extends ConsumerOptions {
  sessions: Pick<SessionStore, 'revoke' | 'revokeUser'>
  /** when given, user.deleted removes the account (idempotent: a deletion cut short completes) */
  users?: Pick<UserStore, 'remove'> | undefined
}

/** What a durable consumer of the events does with each one; a throw hands it back for later. */
export interface EventHandler {
  /** the durable consumer's name, shared by every auth instance // wire contract */
  durable: string
  apply: (event: RatchetEvent) => Promise<void>
  /** where applied, skipped and retried events are counted */
  counters: Pick<typeof eventCounters, 'applied' | 'skipped' | 'retried'>
}

/**
 * Applies revocations from the stream to the session store, whoever published them,
 * through a durable pull consumer: events published while every auth instance was
 * down wait on the server and are applied when one comes back.
 */
export function createRevoker (opts: RevokerOptions) {
  return createEventConsumer(opts, {
    durable: REVOKER_DURABLE,
    counters: eventCounters,
    async apply (event) {
      if (event.type === 'session.revoked') await opts.sessions.revoke(event.data.sub, event.data.sid)
      // `before` is a NumericDate made from whole milliseconds: rounding restores them exactly
      else if (event.type === 'user.revoked') await opts.sessions.revokeUser(event.data.sub, Math.round(event.data.before * 1000))
      // the user.revoked before it ended the sessions; the account and its address go now
      // (the address is only freed while it still names this user, so a replay is harmless)
      else await opts.users?.remove(event.data.sub)
    }
  })
}

/** The durable as every auth instance creates it. */
function durableConfig (durable: string, filter: string): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    // a consumer created after events were stored still applies them: they are idempotent
    deliver_policy: DeliverPolicy.All,
    filter_subject: filter,
    ack_wait: nanos(30_000),
    max_ack_pending: 1000
  }
}

/** How the durable on the server differs from the one every auth instance creates (see durableDrift). */
export function consumerDrift (actual: ConsumerConfig, durable: string, filter: string, now = Date.now()): string[] {
  return durableDrift(actual, durableConfig(durable, filter), now)
}

/**
 * A durable pull consumer of every event on the stream, shared by the auth
 * instances (each event reaches one of them), acked once `apply` succeeded.
 *
 * The durable lives on the server, where anyone allowed to can delete it or change
 * it: before consuming, and every `watchIntervalMs` while consuming, it is checked
 * and put back. Gone or changed in what it delivers, it is created anew and replays
 * the stream (events are idempotent; any skipped while it was wrong are applied
 * now); changed only in a tunable setting, it is updated in place. One log line
 * per repair; a failed check (NATS away) is left to the reconnect.
 */
export function createEventConsumer (opts: ConsumerOptions, handler: EventHandler) {
  const { durable, counters } = handler
  const retryDelayMs = opts.retryDelayMs ?? 2000
  const watchIntervalMs = opts.watchIntervalMs ?? WATCH_INTERVAL_MS
  const filter = `${opts.prefix}.events.>`
  const keeper = createDurableKeeper({
    stream: opts.stream,
    wanted: durableConfig(durable, filter),
    api: async (nc: NatsConnection) => (await nc.jetstreamManager()).consumers,
    log: opts.log
  })

  function onFailure (err: Error): void {
    opts.log.warn({ consumer: durable, reason: err.message }, 'cannot consume events; retrying')
  }

  async function handle (m: JsMsg): Promise<void> {
    const parsed = parseEvent(opts.prefix, m.subject, m.data)
    if (!parsed.ok) {
      // never let one bad event block the ones behind it: log (no payload) and skip
      counters.skipped++
      opts.log.warn({ subject: m.subject, seq: m.seq, error: parsed.error }, 'skipping a malformed event')
      m.ack()
      return
    }
    try {
      await handler.apply(clampEventTimes(parsed.event, storedAtMs(m.info), opts.leewaySeconds))
    } catch (err) {
      // the session store is away: the server redelivers after the delay
      counters.retried++
      opts.log.warn({ consumer: durable, subject: m.subject, seq: m.seq, reason: (err as Error).message }, 'cannot apply an event yet; retrying')
      m.nak(retryDelayMs)
      return
    }
    counters.applied++
    m.ack()
  }

  const loop = createConsumeLoop({
    connection: opts.whenConnected,
    stream: opts.stream,
    durable,
    ensure: keeper.ensure,
    pull: { max_messages: 100 },
    handle,
    watch: { intervalMs: watchIntervalMs, ours: keeper.ours },
    onFailure
  })

  return {
    start: loop.start,
    /** Stops the current subscription so the loop checks the consumer again (after a reconnect). */
    restart: loop.restart,
    stop: loop.stop
  }
}

export type Revoker = ReturnType<typeof createEventConsumer>
