import type { FastifyBaseLogger } from 'fastify'
import { AckPolicy, DeliverPolicy, nanos, nuid, type Consumer, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats'
import { clampEventTimes, CLOSE_STEP_MS, parseEvent, storedAtMs, subjects, withDeadline } from '@ratchet/shared'
import type { RevocationList } from './list.js'

/**
 * Each instance's consumer is named `resource-revocations-<random>`: created by name, since
 * deploy/nats.conf refuses the unnamed create (its name would come from the request body,
 * beyond what a subject permission can check), and recognisable as the resource service's.
 */
export const FOLLOWER_PREFIX = 'resource-revocations-'

export interface FollowerOptions {
  /** resolves once NATS is up (undefined: the link is closing) */
  connection: () => Promise<NatsConnection | undefined>
  stream: string
  prefix: string
  /** how far back to replay: ACCESS_TOKEN_TTL + CLOCK_LEEWAY, in seconds */
  replaySeconds: number
  list: RevocationList
  log: FastifyBaseLogger
  /** CLOCK_LEEWAY: how far past its arrival an event's `before` and `at` may reach */
  leewaySeconds: number
  /** wait between attempts while the stream is missing (ms) */
  retryInterval?: number
  /** how often the watchdog asks the server about the consumer (ms) */
  watchInterval?: number
}

/**
 * Replays the event stream from (now − replaySeconds) with an ephemeral consumer, then
 * follows it live, feeding revocations into the list. `caughtUp` turns true once every
 * event stored when the consumer was created has been applied. The stream belongs to the
 * auth service: while it does not exist this waits and retries, it never creates it.
 */
export class RevocationFollower {
  caughtUp = false
  /** events applied and skipped, for tests and metrics */
  applied = 0
  skipped = 0
  readonly #opts: Required<FollowerOptions>
  #messages: ConsumerMessages | null = null
  /** messages received from the current consumer, for the watchdog */
  #received = 0
  #stopped = false
  #done: Promise<void> | null = null
  #wake: (() => void) | null = null
  #onStop: () => void = () => {}
  /** resolves when stop() is called, so no wait (for NATS, for the stream) outlives the service */
  readonly #stopping = new Promise<null>((resolve) => { this.#onStop = () => resolve(null) })

  constructor (opts: FollowerOptions) {
    this.#opts = { retryInterval: 1000, watchInterval: 5000, ...opts }
  }

  start (): void {
    this.#done = this.#run()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#onStop()
    this.#wake?.()
    this.#messages?.stop()
    // a JetStream request in flight (NATS away) only ends with its own timeout; #follow
    // looks at #stopped after each one and goes no further
    await withDeadline(this.#done ?? Promise.resolve(), CLOSE_STEP_MS)
  }

  async #run (): Promise<void> {
    const { log, stream } = this.#opts
    let missingLogged = false
    while (!this.#stopped) {
      try {
        const nc = await Promise.race([this.#opts.connection(), this.#stopping])
        if (nc === null || nc === undefined || this.#stopped) return
        await this.#follow(nc)
        if (this.#stopped) return
        // the consumer ended without being asked to (e.g. the connection closed): start over after a pause
        throw new Error('the consumer stopped')
      } catch (err) {
        if (this.#stopped) return
        const message = (err as Error).message
        if (message === 'stream not found') {
          if (!missingLogged) log.warn({ stream }, 'the event stream does not exist yet; waiting for the auth service to create it')
          missingLogged = true
        } else {
          log.warn({ stream, err: message }, 'cannot follow the event stream; retrying')
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve
          setTimeout(resolve, this.#opts.retryInterval).unref()
        })
      }
    }
  }

  async #follow (nc: NatsConnection): Promise<void> {
    const { stream, prefix, replaySeconds, log } = this.#opts
    const startTime = new Date(Date.now() - replaySeconds * 1000).toISOString()
    // Our own ephemeral consumer rather than the client's ordered one: the ordered one
    // re-creates itself in a hidden retry loop that, after a NATS cluster node died (the
    // server still places some new consumers on the dead node for a while), can hang for
    // minutes and outlive close. Here every request fails within its timeout, and the
    // loop in #run starts over; what an ordered consumer adds (in order, no gap) is
    // checked below, and any doubt means a new consumer that replays (idempotent).
    const jsm = await nc.jetstreamManager()
    if (this.#stopped) return
    const created = await Promise.race([jsm.consumers.add(stream, {
      name: `${FOLLOWER_PREFIX}${nuid.next()}`,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: startTime,
      filter_subject: subjects(prefix).all,
      mem_storage: true,
      num_replicas: 1,
      // the server removes it once nobody pulls (after a restart, a crash)
      inactive_threshold: nanos(30_000)
    }), this.#stopping])
    if (created === null) return
    const consumer = await nc.jetstream().consumers.get(stream, created.name)
    if (this.#stopped) return
    // short pulls: a lost consumer shows within seconds (missed heartbeats, the watchdog)
    const messages = await consumer.consume({ expires: 5000 })
    this.#messages = messages
    if (this.#stopped) { messages.stop(); return }
    log.info({ stream, since: startTime, pending: created.num_pending }, 'replaying revocations')
    if (created.num_pending === 0) this.#markCaughtUp()
    const watchdog = this.#watch(consumer, messages)
    // a reconnect may have lost deliveries in flight: start over
    const watching = { on: true }
    ;(async () => {
      // ends at the next status event once this consumer is over
      for await (const s of nc.status()) {
        if (!watching.on) return
        if (s.type === 'reconnect') { messages.stop(); return }
      }
    })().catch(() => {})
    let delivered = 0
    try {
      for await (const m of messages) {
        // a gap in the delivery sequence: something was lost on the way
        if (m.info.deliverySequence !== delivered + 1) { log.warn({ stream }, 'a gap in the event delivery; starting a new consumer'); break }
        delivered = m.info.deliverySequence
        this.#received++
        this.#apply(m)
        if (m.info.pending === 0) this.#markCaughtUp()
      }
    } finally {
      clearInterval(watchdog)
      watching.on = false
      messages.stop()
      jsm.consumers.delete(stream, created.name).catch(() => {})
    }
  }

  /**
   * The client does not always notice that its consumer is gone: when the NATS node
   * holding it dies (a cluster node, or the one a reconnect left), it can wait forever
   * without an error, and revocations stop arriving. So ask the server now and
   * then: a consumer it cannot find, or one with events pending while none arrive, twice
   * in a row, is stopped, and the loop starts a new one (replaying; applying is idempotent).
   */
  #watch (consumer: Consumer, messages: ConsumerMessages): NodeJS.Timeout {
    let stalls = 0
    let seen = this.#received
    let asking = false
    const timer = setInterval(() => {
      if (asking) return
      asking = true
      const before = this.#received
      consumer.info(false).then(
        (info) => { stalls = info.num_pending > 0 && before === seen ? stalls + 1 : 0 },
        () => { stalls++ }
      ).finally(() => {
        asking = false
        seen = before
        if (stalls >= 2 && !this.#stopped) {
          this.#opts.log.warn({ stream: this.#opts.stream }, 'the event consumer stalled; starting a new one')
          messages.stop()
        }
      })
    }, this.#opts.watchInterval)
    timer.unref()
    return timer
  }

  #markCaughtUp (): void {
    if (this.caughtUp) return
    this.caughtUp = true
    this.#opts.log.info({ applied: this.applied, skipped: this.skipped }, 'revocations replayed; following live events')
  }

  #apply (m: JsMsg): void {
    const parsed = parseEvent(this.#opts.prefix, m.subject, m.data)
    if (!parsed.ok && parsed.error.startsWith('unknown subject')) {
      // another event type under <prefix>.events.>: not ours to act on
      this.#opts.log.debug({ subject: m.subject, seq: m.seq }, 'ignoring an event of another type')
      return
    }
    if (!parsed.ok) {
      // a bad event must never stop the others: log it (without its payload) and go on
      this.skipped++
      this.#opts.log.warn({ subject: m.subject, seq: m.seq, error: parsed.error }, 'skipping a malformed event')
      return
    }
    const event = clampEventTimes(parsed.event, storedAtMs(m.info), this.#opts.leewaySeconds)
    // an account's deletion is handled by its own durable consumer (accounts/deletions.ts);
    // the user.revoked before it is what rejects its tokens
    if (event.type === 'user.deleted') return
    if (event.type === 'session.revoked') this.#opts.list.revokeSession(event.data.sid)
    else this.#opts.list.revokeUser(event.data.sub, event.data.before)
    this.applied++
    // one line per revocation (ids and reason, never a token); a replay after a restart
    // re-applies what was logged before, so it is summed up in one line instead
    const data = event.type === 'session.revoked' ? { sid: event.data.sid, sub: event.data.sub } : { sub: event.data.sub, before: event.data.before }
    this.#opts.log[this.caughtUp ? 'info' : 'debug']({ event: 'revocation_applied', type: event.type, id: event.data.id, reason: event.data.reason, ...data, seq: m.seq }, 'revocation applied')
  }
}
