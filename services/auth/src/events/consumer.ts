import { AckPolicy, DeliverPolicy, nanos, ReplayPolicy, type ConsumerConfig, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats'
import type { FastifyBaseLogger } from 'fastify'
import { clampEventTimes, createConsumeLoop, isConsumerNotFound, parseEvent, storedAtMs, type RatchetEvent, type Subscription } from '@ratchet/shared'
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
function durableConfig (durable: string, filter: string): Partial<ConsumerConfig> {
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

/** Settings only tuned (in place, no replay): instances of two versions may differ on them. */
const TUNABLE = new Set(['ack_wait', 'max_ack_pending'])

/**
 * The settings in which the durable on the server differs from ours, and so does not
 * deliver every event to us once, in full, soon: another filter, push delivery, a cap
 * on redeliveries, headers only, a pause, an idle timeout that deletes it... Absent
 * settings are the server's defaults.
 */
export function consumerDrift (actual: ConsumerConfig, durable: string, filter: string, now = Date.now()): string[] {
  const wanted = durableConfig(durable, filter)
  const drift: string[] = []
  const differs = (name: string, bad: boolean): void => { if (bad) drift.push(name) }
  differs('filter_subject', actual.filter_subject !== wanted.filter_subject)
  differs('filter_subjects', (actual.filter_subjects ?? []).some((f) => f !== wanted.filter_subject))
  differs('ack_policy', actual.ack_policy !== wanted.ack_policy)
  differs('deliver_policy', actual.deliver_policy !== wanted.deliver_policy)
  differs('deliver_subject', (actual.deliver_subject ?? '') !== '')
  differs('replay_policy', (actual.replay_policy ?? ReplayPolicy.Instant) !== ReplayPolicy.Instant)
  differs('max_deliver', (actual.max_deliver ?? -1) > 0)
  differs('headers_only', actual.headers_only === true)
  differs('inactive_threshold', (actual.inactive_threshold ?? 0) > 0)
  differs('backoff', (actual.backoff ?? []).length > 0)
  differs('pause_until', actual.pause_until !== undefined && Date.parse(actual.pause_until) > now)
  differs('ack_wait', actual.ack_wait !== wanted.ack_wait)
  differs('max_ack_pending', actual.max_ack_pending !== wanted.max_ack_pending)
  return drift
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
  // whether this process has seen its durable on the server: a missing one is then news
  const seen = { once: false }
  // set once the loop stops: the watchdog then asks nothing more
  const state = { stopped: false }

  /** 'ok' when the durable on the server is ours; otherwise what was wrong with it. */
  async function check (jsm: JetStreamManager): Promise<'ok' | 'missing' | string[]> {
    try {
      const drift = consumerDrift((await jsm.consumers.info(opts.stream, durable)).config, durable, filter)
      return drift.length === 0 ? 'ok' : drift
    } catch (err) {
      if (isConsumerNotFound(err)) return 'missing'
      throw err
    }
  }

  async function ensureConsumer (nc: NatsConnection): Promise<void> {
    const jsm = await nc.jetstreamManager()
    const found = await check(jsm)
    if (found === 'ok') { seen.once = true; return }
    const config = durableConfig(durable, filter)
    const where = { stream: opts.stream, consumer: durable }
    if (found === 'missing') {
      await jsm.consumers.add(opts.stream, config)
      // the first time, a fresh stream; later, someone deleted it
      if (seen.once) opts.log.warn(where, 'the durable event consumer was gone; recreated it')
      else opts.log.info(where, 'created a durable event consumer')
    } else if (found.every((name) => TUNABLE.has(name))) {
      await jsm.consumers.update(opts.stream, durable, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending })
      opts.log.warn({ ...where, changed: found }, 'the durable event consumer had other settings; updated it')
    } else {
      await jsm.consumers.delete(opts.stream, durable).catch((err: unknown) => { if (!isConsumerNotFound(err)) throw err })
      await jsm.consumers.add(opts.stream, config)
      opts.log.warn({ ...where, changed: found }, 'the durable event consumer was changed; recreated it, replaying the stream')
    }
    seen.once = true
  }

  /** Ends the subscription (the loop then repairs the durable) once the server's durable is not ours. */
  function watch (nc: NatsConnection, iter: Subscription<JsMsg>): () => void {
    let asking = false
    // kept between ticks: each jetstreamManager() first asks the server for its API info
    let jsm: Promise<JetStreamManager> | undefined
    const timer = setInterval(() => {
      if (asking || state.stopped) return
      asking = true
      jsm ??= nc.jetstreamManager()
      jsm.then(check)
        .then((found) => { if (found !== 'ok' && !state.stopped) iter.stop() })
        // NATS away or slow: the reconnect restarts the subscription, which checks again
        .catch(() => { jsm = undefined })
        .finally(() => { asking = false })
    }, watchIntervalMs)
    timer.unref()
    return () => { clearInterval(timer) }
  }

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

  const loop = createConsumeLoop({ connection: opts.whenConnected, stream: opts.stream, durable, ensure: ensureConsumer, pull: { max_messages: 100 }, handle, beside: watch, onFailure })

  return {
    start: loop.start,
    /** Stops the current subscription so the loop checks the consumer again (after a reconnect). */
    restart: loop.restart,
    async stop (): Promise<void> {
      state.stopped = true
      await loop.stop()
    }
  }
}

export type Revoker = ReturnType<typeof createEventConsumer>
