import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { JetStreamClient, NatsConnection, PubAck } from 'nats'
import { CLOSE_STEP_MS, parseEvent, subjects, withDeadline, type RedisTarget } from '@ratchet/shared'
import { createOutboxReader, type OutboxEntry as Entry } from '../stores/outbox.js'
import { eventCounters } from './counters.js'

export interface RelayOptions {
  /** where Redis is: the relay opens its own connection (a Cluster if the target is one) */
  target: RedisTarget
  /** the shared client, for the one command that runs after the loop stopped */
  redis: Redis
  stream: string
  natsPrefix: string
  log: FastifyBaseLogger
  whenConnected: () => Promise<NatsConnection | undefined>
  /** told when a publish failed, e.g. so the stream is checked again */
  onPublishFailure?: () => void
  /** how long a blocking read waits before the loop looks around (ms) */
  blockMs?: number
  /** entries another relay received this long ago without acking are taken over (ms) */
  claimIdleMs?: number
}

/**
 * The outbox relay: reads the Redis outbox through a consumer group (each entry goes
 * to one instance), publishes each event with its id as the JetStream message id
 * (the stream drops a second copy), and removes the entry only after the stream
 * acknowledged it. A failed entry stays pending and is sent again; entries of an
 * instance that died are taken over once idle for `claimIdleMs`.
 */
export function createRelay (opts: RelayOptions) {
  const names = subjects(opts.natsPrefix)
  const blockMs = opts.blockMs ?? 5000
  const claimIdleMs = opts.claimIdleMs ?? 30_000
  const consumer = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
  const outbox = createOutboxReader({
    target: opts.target,
    redis: opts.redis,
    consumer,
    blockMs,
    claimIdleMs,
    log: opts.log
  })

  // an object, not a let: loops read it after awaits, and lint can see it changes
  const state = { stopped: false }
  // resolves on stop, so no wait (for NATS, for a retry) outlives the subsystem
  let signalStop = (): void => {}
  const stopping = new Promise<undefined>((resolve) => { signalStop = () => resolve(undefined) })
  let done: Promise<void> | undefined
  let groupReady = false

  async function ensureGroup (): Promise<void> {
    if (groupReady) return
    await outbox.ensureGroup()
    groupReady = true
  }

  function encode (entry: Entry): { subject: string, payload: string, id: string } | undefined {
    const fields = entry[1]
    if (fields === null) return undefined
    const f: Record<string, string> = {}
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string
    const subject = f.type === 'session.revoked' ? names.sessionRevoked : f.type === 'user.revoked' ? names.userRevoked : f.type === 'user.deleted' ? names.userDeleted : ''
    const parsed = parseEvent(opts.natsPrefix, subject, f.data ?? '')
    if (!parsed.ok) {
      // cannot be sent as it is and never will be: drop it rather than block the outbox
      opts.log.error({ entry: entry[0], type: f.type, error: parsed.error }, 'dropping a malformed outbox entry')
      return undefined
    }
    return { subject, payload: f.data ?? '', id: parsed.event.data.id }
  }

  /** Publishes a batch; acks what the stream stored; throws if anything is left. */
  async function relay (js: JetStreamClient, entries: Entry[]): Promise<void> {
    const outcomes = await Promise.allSettled(entries.map(async (entry): Promise<PubAck | undefined> => {
      const msg = encode(entry)
      if (msg === undefined) return undefined
      return await js.publish(msg.subject, msg.payload, { msgID: msg.id, expect: { streamName: opts.stream } })
    }))
    const done: string[] = []
    let failure: unknown
    outcomes.forEach((o, i) => {
      if (o.status === 'rejected') { failure ??= o.reason; eventCounters.publishFailures++; return }
      done.push((entries[i] as Entry)[0])
      if (o.value !== undefined) {
        eventCounters.published++
        if (o.value.duplicate) eventCounters.duplicates++
      }
    })
    if (done.length > 0) await outbox.ack(done)
    if (failure !== undefined) {
      opts.onPublishFailure?.()
      throw failure
    }
  }

  async function sleep (ms: number): Promise<void> {
    await Promise.race([stopping, new Promise<void>((resolve) => { setTimeout(resolve, ms).unref() })])
  }

  async function run (): Promise<void> {
    let failures = 0
    // a fresh name has nothing pending; the flag is what a failure sets to resend ours
    let resendOwn = false
    let nextClaim = 0
    while (!state.stopped) {
      try {
        const nc = await Promise.race([opts.whenConnected(), stopping])
        if (nc === undefined || state.stopped) return
        await outbox.connect()
        await ensureGroup()
        let entries: Entry[]
        if (resendOwn) {
          entries = await outbox.readOwnPending()
          if (entries.length === 0) { resendOwn = false; continue }
        } else if (Date.now() >= nextClaim) {
          entries = await outbox.claimAbandoned()
          nextClaim = Date.now() + (entries.length === 100 ? 0 : Math.min(claimIdleMs, 10_000))
          if (entries.length === 0) {
            await outbox.removeIdleConsumers(3600_000, '', consumer)
            continue
          }
        } else {
          // the wake-up: returns as soon as a logout appends to the outbox
          entries = await outbox.readNew()
        }
        if (entries.length > 0) await relay(nc.jetstream(), entries)
        failures = 0
      } catch (err) {
        if (state.stopped) return
        const message = (err as Error).message
        if (message.startsWith('NOGROUP')) groupReady = false
        failures++
        resendOwn = true
        if (failures === 1) opts.log.warn({ reason: message }, 'outbox relay failed; retrying')
        await sleep(Math.min(100 * 2 ** failures, 5000))
      }
    }
  }

  return {
    start (): void { done = run() },
    async stop (): Promise<void> {
      state.stopped = true
      signalStop()
      outbox.disconnect()
      await withDeadline(done ?? Promise.resolve(), CLOSE_STEP_MS)
      // leave no empty consumer behind; one with pending entries stays for others to claim
      await withDeadline(outbox.removeIdleConsumers(0, consumer, ''), CLOSE_STEP_MS)
    }
  }
}

export type Relay = ReturnType<typeof createRelay>
