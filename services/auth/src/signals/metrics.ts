import { Counter, Gauge, type Registry } from 'prom-client'
import type { SsfQueue } from '../stores/ssf-queue.js'
import type { SsfStreamStore } from '../stores/ssf-streams.js'
import type { PushResult } from './push.js'

/** How a delivery attempt ended: a push result, or given up after SSF_DELIVERY_MAX_AGE. // wire contract */
export type DeliveryResult = PushResult | 'expired'

/**
 * Shared Signals metrics, per stream: attempts by result (this instance's),
 * and the queue measured in Redis at scrape time (the same on every instance).
 */
export function createSignalMetrics (registry: Registry, streams: SsfStreamStore, queue: SsfQueue) {
  const deliveries = new Counter({
    name: 'ratchet_ssf_deliveries_total',
    help: 'SET push attempts by receiver, stream and result (delivered, rejected: any answer but 200/202, unreachable, timeout, expired: given up)',
    labelNames: ['receiver', 'stream', 'result'] as const,
    registers: [registry]
  })
  // one scrape reads the streams once for both gauges
  let snapshot: Promise<Array<{ receiver: string, stream: string, depth: number, oldest: number | undefined }>> | undefined
  async function measure () {
    snapshot ??= (async () => {
      try {
        const list = await streams.list()
        return await Promise.all(list.map(async ({ receiver, stream }) => ({
          receiver,
          stream: stream.stream_id,
          depth: await queue.depth(stream.stream_id),
          oldest: await queue.oldest(stream.stream_id)
        })))
      } finally {
        setImmediate(() => { snapshot = undefined })
      }
    })()
    return await snapshot
  }
  type Measured = Awaited<ReturnType<typeof measure>>[number]
  function streamGauge (name: string, help: string, valueOf: (m: Measured, now: number) => number): void {
    registry.registerMetric(new Gauge({
      name,
      help,
      labelNames: ['receiver', 'stream'] as const,
      registers: [],
      async collect () {
        this.reset()
        const now = Date.now()
        // Redis away: no series rather than a reassuring 0
        for (const m of await measure().catch(() => [])) this.set({ receiver: m.receiver, stream: m.stream }, valueOf(m, now))
      }
    }))
  }
  streamGauge('ratchet_ssf_queue_depth', 'SETs waiting for delivery (or being pushed), by receiver and stream', (m) => m.depth)
  streamGauge('ratchet_ssf_oldest_undelivered_age_seconds', 'Age of the oldest undelivered SET, 0 when none waits, by receiver and stream',
    (m, now) => m.oldest === undefined ? 0 : Math.max(0, (now - m.oldest) / 1000))
  return {
    delivery (receiver: string, stream: string, result: DeliveryResult): void { deliveries.inc({ receiver, stream, result }) }
  }
}

export type SignalMetrics = ReturnType<typeof createSignalMetrics>
