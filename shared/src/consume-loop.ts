import { CLOSE_STEP_MS, withDeadline } from './shutdown.js'

/** JetStream's API error code for a consumer that does not exist. */
const CONSUMER_NOT_FOUND = 10014

/** Whether a JetStream API call failed because the consumer does not exist (so `ensure` creates it). */
export function isConsumerNotFound (err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } } | null)?.api_error?.err_code === CONSUMER_NOT_FOUND
}

/** A subscription the loop reads to its end: nats.js' ConsumerMessages has this shape. */
export interface Subscription<M> extends AsyncIterable<M> {
  stop: () => void
}

/** What the loop needs of a NATS connection (nats.js' NatsConnection has it): a durable pull consumer's messages. */
export interface JetStreamSource<M> {
  jetstream: () => { consumers: { get: (stream: string, durable: string) => Promise<{ consume: (opts: PullOptions) => Promise<Subscription<M>> }> } }
}

/** How the consumer pulls: messages per batch, and how long one pull waits on the server (ms). */
export interface PullOptions { max_messages: number, expires?: number }

export interface ConsumeLoopOptions<C extends JetStreamSource<M>, M> {
  /** resolves once NATS is up (undefined: the connection is closing) */
  connection: () => Promise<C | undefined>
  stream: string
  /** the durable consumer's name // wire contract */
  durable: string
  /** makes sure the durable consumer is there (and is ours) before each subscription */
  ensure: (nc: C) => Promise<void>
  pull: PullOptions
  /** one message; acking or nak-ing it is the handler's job, and it must not throw */
  handle: (m: M) => Promise<void>
  /**
   * The watchdog: every `intervalMs` while subscribed, `ours` asks the server whether the
   * durable is still the one `ensure` made; when not, the subscription ends and the loop
   * ensures it again. A failed question (NATS away) is left to the reconnect.
   */
  watch?: { intervalMs: number, ours: (nc: C) => Promise<boolean> }
  /** the first failure of a run of them (NATS away, the stream missing): logged once, not per retry */
  onFailure: (err: Error) => void
}

export interface ConsumeLoop {
  start: () => void
  /** Ends the current subscription, so the loop subscribes again (after a reconnect). */
  restart: () => void
  /** Stops the loop; a JetStream request in flight (NATS away) is waited for up to CLOSE_STEP_MS. */
  stop: () => Promise<void>
}

/**
 * The loop every durable consumer of the event stream runs: wait for NATS, check the
 * durable, subscribe,
 * hand each message over, and start over after a failure or the end of a subscription,
 * backing off (100 ms doubling, at most 5 s) while the failures last. Nothing waits past
 * `stop`: neither the wait for NATS nor a back-off.
 */
export function createConsumeLoop<C extends JetStreamSource<M>, M> (opts: ConsumeLoopOptions<C, M>): ConsumeLoop {
  // an object, not a let: the loop reads it after awaits, and lint can see it changes
  const state = { stopped: false }
  let signalStop = (): void => {}
  const stopping = new Promise<undefined>((resolve) => { signalStop = () => resolve(undefined) })
  let current: Subscription<M> | undefined
  let done: Promise<void> | undefined

  function watch (nc: C, subscription: Subscription<M>): () => void {
    const w = opts.watch
    if (w === undefined) return () => {}
    let asking = false
    const timer = setInterval(() => {
      if (asking || state.stopped) return
      asking = true
      w.ours(nc)
        .then((ours) => { if (!ours && !state.stopped) subscription.stop() })
        .catch(() => {})
        .finally(() => { asking = false })
    }, w.intervalMs)
    timer.unref()
    return () => { clearInterval(timer) }
  }

  async function run (): Promise<void> {
    let failures = 0
    while (!state.stopped) {
      try {
        const nc = await Promise.race([opts.connection(), stopping])
        if (nc === undefined || state.stopped) return
        await opts.ensure(nc)
        const consumer = await nc.jetstream().consumers.get(opts.stream, opts.durable)
        const subscription = await consumer.consume(opts.pull)
        current = subscription
        if (state.stopped) { subscription.stop(); return }
        failures = 0
        const end = watch(nc, subscription)
        try {
          for await (const m of subscription) await opts.handle(m)
        } finally {
          end()
        }
      } catch (err) {
        if (state.stopped) return
        failures++
        if (failures === 1) opts.onFailure(err as Error)
        await Promise.race([stopping, new Promise<void>((resolve) => { setTimeout(resolve, Math.min(100 * 2 ** failures, 5000)).unref() })])
      }
    }
  }

  return {
    start (): void { done = run() },
    restart (): void { current?.stop() },
    async stop (): Promise<void> {
      state.stopped = true
      signalStop()
      current?.stop()
      await withDeadline(done ?? Promise.resolve(), CLOSE_STEP_MS)
    }
  }
}
