import type { FastifyBaseLogger } from 'fastify'
import type { SsfQueue, QueuedSet } from '../stores/ssf-queue.js'
import type { ReceiverStream, SsfStreamStore } from '../stores/ssf-streams.js'
import type { SetBody, SetSigner } from './set.js'
import { pushSet } from './push.js'
import type { SignalMetrics } from './metrics.js'

export interface DeliveryOptions {
  streams: SsfStreamStore
  queue: SsfQueue
  sign: SetSigner
  metrics: SignalMetrics
  log: FastifyBaseLogger
  /** one push's wait for an answer (ms) */
  timeoutMs: number
  /** a SET older than this is given up (ms) */
  maxAgeMs: number
  /** the longest back-off (ms) */
  retryCapMs: number
  /** the first back-off (ms) */
  retryBaseMs?: number
  /** pushes in flight to one receiver at a time */
  perStream?: number
  /** how often the queues are looked at when nothing wakes the worker (ms): retries another instance scheduled */
  pollMs?: number
}

/**
 * Pushes queued SETs to each stream's receiver. Every auth instance runs one;
 * an entry is leased to one of them while it is pushed, so each SET reaches
 * its receiver once, and an instance that dies hands its leases on when they
 * run out. Receivers are independent: each has its own slots and back-off,
 * so one that is down or slow holds up no other.
 */
export function createDelivery (opts: DeliveryOptions) {
  const retryBaseMs = opts.retryBaseMs ?? 1000
  const perStream = opts.perStream ?? 8
  const pollMs = opts.pollMs ?? 1000
  // longer than a push can take, so a lease only runs out if its holder is gone
  const leaseMs = opts.timeoutMs + 5000
  const inflight = new Map<string, Set<Promise<void>>>()
  const abort = new AbortController()
  // an object, not a let: loops read it after awaits, and lint can see it changes
  const state = { stopped: false, woken: false }
  let signalStop = (): void => {}
  const stopping = new Promise<void>((resolve) => { signalStop = resolve })
  let signalWake = (): void => {}
  let done: Promise<void> | undefined

  function wake (): void {
    state.woken = true
    signalWake()
  }

  function slots (streamId: string): Set<Promise<void>> {
    let s = inflight.get(streamId)
    if (s === undefined) { s = new Set(); inflight.set(streamId, s) }
    return s
  }

  async function deliver ({ receiver, stream }: ReceiverStream, entry: QueuedSet): Promise<void> {
    const streamId = stream.stream_id
    const startedAt = Date.now()
    const body = JSON.parse(entry.claims) as SetBody
    if (body.iat * 1000 < startedAt - opts.maxAgeMs) {
      await opts.queue.settle(streamId, entry.id, false)
      opts.metrics.delivery(receiver, streamId, 'expired')
      opts.log.warn({ receiver, stream_id: streamId, set_id: entry.id }, 'gave up a SET older than SSF_DELIVERY_MAX_AGE')
      return
    }
    const outcome = await pushSet(stream.delivery, opts.sign(body, stream.iss, stream.aud), opts.timeoutMs, abort.signal)
    if (outcome.result === 'delivered') {
      await opts.queue.settle(streamId, entry.id, true)
      opts.metrics.delivery(receiver, streamId, 'delivered')
      return
    }
    // cut off by our own shutdown: not the receiver's fault; hand the entry back
    if (state.stopped) { await opts.queue.release(streamId, [entry.id]); return }
    const retryAt = await opts.queue.retry(streamId, entry.id, { now: Date.now(), startedAt, baseMs: retryBaseMs, capMs: opts.retryCapMs, jitter: 0.5 + Math.random() / 2 })
    opts.metrics.delivery(receiver, streamId, outcome.result)
    // one line per failed push; the SET itself (a signed token) is never logged
    opts.log.warn({ receiver, stream_id: streamId, set_id: entry.id, result: outcome.result, status: outcome.status, reason: outcome.reason, retry_in_ms: Math.max(0, retryAt - Date.now()) }, 'SET delivery failed; will retry')
  }

  function launch (rs: ReceiverStream, entry: QueuedSet): void {
    const mine = slots(rs.stream.stream_id)
    const p: Promise<void> = deliver(rs, entry)
      .catch((err: unknown) => { opts.log.warn({ receiver: rs.receiver, stream_id: rs.stream.stream_id, set_id: entry.id, reason: (err as Error).message }, 'cannot record a delivery; the lease will run out and it is pushed again') })
      .finally(() => { mine.delete(p); wake() })
    mine.add(p)
  }

  /** One look at every stream; returns when the next entry is due (ms). */
  async function tick (): Promise<number> {
    const now = Date.now()
    let next = now + pollMs
    for (const rs of await opts.streams.list()) {
      const free = perStream - slots(rs.stream.stream_id).size
      if (free <= 0) continue
      const claimed = await opts.queue.claim(rs.stream.stream_id, now, now + leaseMs, free)
      for (const entry of claimed.entries) launch(rs, entry)
      const due = claimed.retryAt > now ? claimed.retryAt : claimed.nextDue
      if (due !== undefined && due > now && claimed.entries.length < free) next = Math.min(next, due)
    }
    return next
  }

  async function sleepUntil (at: number): Promise<void> {
    if (state.woken) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      stopping,
      new Promise<void>((resolve) => { signalWake = resolve; timer = setTimeout(resolve, Math.max(0, at - Date.now())) })
    ])
    clearTimeout(timer)
  }

  async function run (): Promise<void> {
    let failures = 0
    while (!state.stopped) {
      let next: number
      try {
        state.woken = false
        next = await tick()
        failures = 0
      } catch (err) {
        failures++
        if (failures === 1) opts.log.warn({ reason: (err as Error).message }, 'cannot read the SET queues; retrying')
        next = Date.now() + Math.min(100 * 2 ** failures, 5000)
      }
      if (!state.stopped) await sleepUntil(next)
    }
  }

  return {
    start (): void { done ??= run() },
    /** a SET was queued: look at once rather than at the next poll */
    wake,
    /** Stops within a few seconds whatever is down: pushes in flight are cut off and their entries handed back. */
    async close (): Promise<void> {
      state.stopped = true
      signalStop()
      abort.abort()
      const all = [...inflight.values()].flatMap((s) => [...s])
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled([done, ...all]),
        new Promise<void>((resolve) => { timer = setTimeout(resolve, 3000) })
      ])
      clearTimeout(timer)
    }
  }
}

export type Delivery = ReturnType<typeof createDelivery>
