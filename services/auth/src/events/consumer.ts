import { AckPolicy, DeliverPolicy, nanos, type ConsumerMessages, type JsMsg, type NatsConnection, type NatsError } from 'nats'
import type { FastifyBaseLogger } from 'fastify'
import { clampEventTimes, CLOSE_STEP_MS, parseEvent, storedAtMs, withDeadline, type RatchetEvent } from '@ratchet/shared'
import type { SessionStore } from '../stores/sessions.js'
import type { UserStore } from '../stores/users.js'
import { eventCounters } from './counters.js'

/** Shared by every auth instance: each event is applied by one of them. // wire contract */
export const REVOKER_DURABLE = 'auth-revoker'

const CONSUMER_NOT_FOUND = 10014

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

/**
 * A durable pull consumer of every event on the stream, shared by the auth
 * instances (each event reaches one of them), acked once `apply` succeeded.
 */
export function createEventConsumer (opts: ConsumerOptions, handler: EventHandler) {
  const { durable, counters } = handler
  const retryDelayMs = opts.retryDelayMs ?? 2000
  const filter = `${opts.prefix}.events.>`
  // an object, not a let: loops read it after awaits, and lint can see it changes
  const state = { stopped: false }
  // resolves on stop, so no wait (for NATS, for a retry) outlives the subsystem
  let signalStop = (): void => {}
  const stopping = new Promise<undefined>((resolve) => { signalStop = () => resolve(undefined) })
  let messages: ConsumerMessages | undefined
  let done: Promise<void> | undefined

  async function ensureConsumer (nc: NatsConnection): Promise<void> {
    const jsm = await nc.jetstreamManager()
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      // a consumer created after events were stored still applies them: they are idempotent
      deliver_policy: DeliverPolicy.All,
      filter_subject: filter,
      ack_wait: nanos(30_000),
      max_ack_pending: 1000
    }
    try {
      await jsm.consumers.info(opts.stream, durable)
    } catch (err) {
      if ((err as NatsError).api_error?.err_code !== CONSUMER_NOT_FOUND) throw err
      await jsm.consumers.add(opts.stream, config)
      opts.log.info({ stream: opts.stream, consumer: durable }, 'created a durable event consumer')
    }
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

  async function run (): Promise<void> {
    let failures = 0
    while (!state.stopped) {
      try {
        const nc = await Promise.race([opts.whenConnected(), stopping])
        if (nc === undefined || state.stopped) return
        await ensureConsumer(nc)
        const consumer = await nc.jetstream().consumers.get(opts.stream, durable)
        const iter = await consumer.consume({ max_messages: 100 })
        messages = iter
        if (state.stopped) { iter.stop(); return }
        failures = 0
        for await (const m of iter) await handle(m)
      } catch (err) {
        if (state.stopped) return
        failures++
        if (failures === 1) opts.log.warn({ consumer: durable, reason: (err as Error).message }, 'cannot consume events; retrying')
        await Promise.race([stopping, new Promise<void>((resolve) => { setTimeout(resolve, Math.min(100 * 2 ** failures, 5000)).unref() })])
      }
    }
  }

  return {
    start (): void { done = run() },
    /** Stops the current subscription so the loop checks the consumer again (after a reconnect). */
    restart (): void { messages?.stop() },
    async stop (): Promise<void> {
      state.stopped = true
      signalStop()
      messages?.stop()
      // a JetStream request in flight (NATS away) only ends with its own timeout
      await withDeadline(done ?? Promise.resolve(), CLOSE_STEP_MS)
    }
  }
}

export type Revoker = ReturnType<typeof createEventConsumer>
