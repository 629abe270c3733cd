import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

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

/**
 * A registry for one app with the HTTP histogram every service has. Tests run
 * several apps in one process, so each app gets its own registry.
 */
export function createAppMetrics (): AppMetrics {
  const registry = new Registry()
  const requests = new Histogram({
    name: 'ratchet_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: BUCKETS,
    registers: [registry]
  })
  return {
    registry,
    observeRequest (method, route, status, seconds) {
      requests.observe({ method, route: route ?? UNMATCHED_ROUTE, status: String(status) }, seconds)
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
