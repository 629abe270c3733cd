import type { FastifyBaseLogger } from 'fastify'
import type { ConsumerMessages, JsMsg, NatsConnection } from 'nats'
import { parseEvent, subjects } from '@ratchet/shared'
import type { RevocationList } from './list.js'

export interface FollowerOptions {
  connection: () => Promise<NatsConnection>
  stream: string
  prefix: string
  /** how far back to replay: ACCESS_TOKEN_TTL + CLOCK_LEEWAY, in seconds */
  replaySeconds: number
  list: RevocationList
  log: FastifyBaseLogger
  /** wait between attempts while the stream is missing (ms) */
  retryInterval?: number
}

/**
 * Replays the event stream from (now − replaySeconds) with an ordered consumer, then
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
  #stopped = false
  #done: Promise<void> | null = null
  #wake: (() => void) | null = null
  #onStop: () => void = () => {}
  /** resolves when stop() is called, so no wait (for NATS, for the stream) outlives the service */
  readonly #stopping = new Promise<null>((resolve) => { this.#onStop = () => resolve(null) })

  constructor (opts: FollowerOptions) {
    this.#opts = { retryInterval: 1000, ...opts }
  }

  start (): void {
    this.#done = this.#run()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#onStop()
    this.#wake?.()
    this.#messages?.stop()
    await this.#done
  }

  async #run (): Promise<void> {
    const { log, stream } = this.#opts
    let missingLogged = false
    while (!this.#stopped) {
      try {
        const nc = await Promise.race([this.#opts.connection(), this.#stopping])
        if (nc === null || this.#stopped) return
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
    // an ordered consumer: ephemeral, in order, recreated by the client after a gap or a reconnect
    const consumer = await Promise.race([nc.jetstream().consumers.get(stream, { filterSubjects: subjects(prefix).all, opt_start_time: startTime }), this.#stopping])
    if (consumer === null) return
    const pending = consumer.consume()
    const messages = await Promise.race([pending, this.#stopping])
    if (messages === null) { pending.then((m) => m.stop(), () => {}); return }
    this.#messages = messages
    const info = await consumer.info(true)
    log.info({ stream, since: startTime, pending: info.num_pending }, 'replaying revocations')
    if (info.num_pending === 0) this.#markCaughtUp()
    for await (const m of messages) {
      this.#apply(m)
      if (m.info.pending === 0) this.#markCaughtUp()
    }
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
    const { event } = parsed
    if (event.type === 'session.revoked') this.#opts.list.revokeSession(event.data.sid)
    else this.#opts.list.revokeUser(event.data.sub, event.data.before)
    this.applied++
    // one line per revocation (ids and reason, never a token); a replay after a restart
    // re-applies what was logged before, so it is summed up in one line instead
    const data = event.type === 'session.revoked' ? { sid: event.data.sid, sub: event.data.sub } : { sub: event.data.sub, before: event.data.before }
    this.#opts.log[this.caughtUp ? 'info' : 'debug']({ event: 'revocation_applied', type: event.type, id: event.data.id, reason: event.data.reason, ...data, seq: m.seq }, 'revocation applied')
  }
}
