import { collectDefaultMetrics, Counter, Gauge, type Histogram, Registry } from 'prom-client'

/** The Prometheus text format both services answer /metrics with. // wire contract */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE

let processMetrics: Registry | undefined

/**
 * Process metrics (CPU, memory, event-loop lag, GC), collected once per process.
 * They describe the process, not an app, and prom-client starts a monitor for
 * each collection, so tests that build many apps in one process share this one.
 */
function processRegistry (): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry()
    collectDefaultMetrics({ register: processMetrics })
  }
  return processMetrics
}

/** What one app exposes: its own registry plus the process metrics. */
export interface AppMetrics {
  /** this app's metrics only; never prom-client's global registry */
  registry: Registry
  /** records one answered request; `route` is the route pattern, never the raw URL */
  observeRequest: (method: string, route: string | undefined, status: number, seconds: number) => void
  /** the /metrics body: the app's metrics, then the process's */
  scrape: () => Promise<string>
}

/** Latency buckets (seconds) around what the services answer in: 0.5 ms to 5 s. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** Unmatched URLs share one label value, so a scan of random paths cannot grow the series. */
export const UNMATCHED_ROUTE = 'unmatched'

interface Series {
  labels: { method: string, route: string, status: string }
  /** per bucket (the last one is +Inf), not cumulative */
  counts: Float64Array
  sum: number
  count: number
}

/**
 * The HTTP histogram, counted in plain numbers and handed to prom-client only at
 * scrape time. prom-client's observe() validates and hashes the label object on
 * every call (~1.5 µs, 4% of a cached GET /v1/me in bench/, issue 19); here a
 * request costs three Map lookups by route, method and status, and increments.
 * The exposition is the one prom-client writes for a Histogram.
 */
class RequestDurations {
  readonly name = 'ratchet_http_request_duration_seconds'
  readonly help = 'Time to answer an HTTP request, by method, route pattern and status'
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #series = new Map<string, Map<string, Map<number, Series>>>()

  observe (method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.#series.get(route)
    if (byMethod === undefined) this.#series.set(route, byMethod = new Map())
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) byMethod.set(method, byStatus = new Map())
    let s = byStatus.get(status)
    if (s === undefined) {
      s = { labels: { method, route, status: String(status) }, counts: new Float64Array(BUCKETS.length + 1), sum: 0, count: 0 }
      byStatus.set(status, s)
    }
    let b = 0
    while (b < BUCKETS.length && seconds > BUCKETS[b]!) b++
    s.counts[b]!++
    s.sum += seconds
    s.count++
  }

  /** What prom-client's registry reads from a metric, as a Histogram gives it. */
  get (): { name: string, help: string, type: string, aggregator: string, values: Array<{ labels: Record<string, string | number>, value: number, metricName: string }> } {
    const values: Array<{ labels: Record<string, string | number>, value: number, metricName: string }> = []
    for (const byMethod of this.#series.values()) {
      for (const byStatus of byMethod.values()) {
        for (const s of byStatus.values()) {
          let cumulative = 0
          for (let b = 0; b <= BUCKETS.length; b++) {
            cumulative += s.counts[b]!
            values.push({ labels: { ...s.labels, le: b < BUCKETS.length ? BUCKETS[b]! : '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` })
          }
          values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` })
          values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` })
        }
      }
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset (): void { this.#series.clear() }
}

/**
 * A registry for one app with the HTTP histogram every service has. Tests run
 * several apps in one process, so each app gets its own registry.
 */
export function createAppMetrics (): AppMetrics {
  const registry = new Registry()
  const requests = new RequestDurations()
  // prom-client reads get(), name, help and type; its Metric type asks for more than a registry uses
  registry.registerMetric(requests as unknown as Histogram)
  return {
    registry,
    observeRequest (method, route, status, seconds) {
      requests.observe(method, route ?? UNMATCHED_ROUTE, status, seconds)
    },
    async scrape () {
      return (await registry.metrics()) + (await processRegistry().metrics())
    }
  }
}

/**
 * A counter whose value lives elsewhere (a plain number another module keeps),
 * read at scrape time. The source must only grow, as a Prometheus counter does.
 */
export function counterFrom (registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect () {
      this.reset()
      this.inc(read())
    }
  })
}

/** A counter with one label whose values are read at scrape time. */
export function labelledCounterFrom<L extends string> (registry: Registry, name: string, help: string, label: L, read: () => Record<string, number>): Counter<L> {
  return new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect () {
      this.reset()
      for (const [value, n] of Object.entries(read())) this.inc({ [label]: value } as Record<L, string>, n)
    }
  })
}

/** A gauge read at scrape time; `read` may be async (a Redis call) and may give undefined when unknown. */
export function gaugeFrom (registry: Registry, name: string, help: string, read: () => number | undefined | Promise<number | undefined>): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    async collect () {
      const value = await read()
      // unknown (e.g. Redis away): NaN, never a made-up 0 that reads as "all is well"
      this.set(value ?? Number.NaN)
    }
  })
}
