import autocannon from 'autocannon'
import { median, percentiles, Samples } from './stats.js'

/** How long and how often every load is run; `--smoke` shrinks it to one short round. */
export interface Plan {
  warmupSec: number
  rounds: number
  durationSec: number
}

export interface LoadSpec {
  url: string
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  connections: number
  /** Fixed request rate (for latency under a given load rather than at saturation). */
  overallRate?: number
  /** Per-request hooks: a new token per request, a refresh chain, ... */
  setupRequest?: (req: Record<string, unknown>, context: Record<string, unknown>) => Record<string, unknown>
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void
  /** Called after each run (warm-up included), e.g. to settle state carried between rounds. */
  afterRun?: () => void | Promise<void>
}

export interface Round {
  rps: number
  p50: number
  p99: number
  ok: number
  failed: number
  errors: number
}

export interface LoadResult extends Round {
  rounds: Round[]
}

/** One autocannon run; latencies of 2xx responses kept as float ms. */
export async function once (spec: LoadSpec, durationSec: number): Promise<Round> {
  const samples = new Samples()
  let ok = 0
  let failed = 0
  const request: Record<string, unknown> = {}
  if (spec.setupRequest) request.setupRequest = spec.setupRequest
  if (spec.onResponse) request.onResponse = spec.onResponse
  let done!: (r: autocannon.Result) => void
  let fail!: (e: Error) => void
  const finished = new Promise<autocannon.Result>((resolve, reject) => { done = resolve; fail = reject })
  const instance = autocannon({
    url: spec.url,
    method: spec.method ?? 'GET',
    headers: spec.headers ?? {},
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    connections: spec.connections,
    duration: durationSec,
    ...(spec.overallRate !== undefined ? { overallRate: spec.overallRate } : {}),
    // autocannon types lag behind its options; `requests` entries accept these hooks.
    requests: [request] as unknown as autocannon.Request[]
  }, (err, result) => { if (err) fail(err); else done(result) })
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) { ok++; samples.push(ms) } else failed++
  })
  const result = await finished
  await spec.afterRun?.()
  const [p50 = NaN, p99 = NaN] = percentiles(samples.values(), [50, 99])
  return { rps: ok / result.duration, p50, p99, ok, failed, errors: result.errors + result.timeouts }
}

/** Warm-up, then `rounds` measured rounds; the result is the median of each figure. */
export async function measure (spec: LoadSpec, plan: Plan, log: (s: string) => void = () => {}): Promise<LoadResult> {
  if (plan.warmupSec > 0) await once(spec, plan.warmupSec)
  const rounds: Round[] = []
  for (let i = 0; i < plan.rounds; i++) {
    const r = await once(spec, plan.durationSec)
    log(`    round ${i + 1}/${plan.rounds}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${r.failed + r.errors > 0 ? `, ${r.failed} non-2xx, ${r.errors} errors` : ''}`)
    rounds.push(r)
  }
  return summary(rounds)
}

/**
 * Several loads measured round-robin (A B C, A B C, ...) rather than one after the
 * other, so a neighbour's burst on this shared machine hits every load alike and the
 * ratios between them hold. Each load still gets its warm-up first.
 */
export async function measureInterleaved (specs: Array<[string, LoadSpec]>, plan: Plan, log: (s: string) => void = () => {}): Promise<Map<string, LoadResult>> {
  const rounds = new Map<string, Round[]>(specs.map(([name]) => [name, []]))
  for (const [, spec] of specs) if (plan.warmupSec > 0) await once(spec, plan.warmupSec)
  for (let i = 0; i < plan.rounds; i++) {
    for (const [name, spec] of specs) {
      const r = await once(spec, plan.durationSec)
      log(`    round ${i + 1}/${plan.rounds} ${name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${r.failed + r.errors > 0 ? `, ${r.failed} non-2xx, ${r.errors} errors` : ''}`)
      rounds.get(name)!.push(r)
    }
  }
  return new Map([...rounds].map(([name, rs]) => [name, summary(rs)]))
}

export function summary (rounds: Round[]): LoadResult {
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    ok: rounds.reduce((a, r) => a + r.ok, 0),
    failed: rounds.reduce((a, r) => a + r.failed, 0),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    rounds
  }
}

/** Median over rounds of A's rate divided by B's rate in the same round. */
export function ratioOfRounds (a: LoadResult, b: LoadResult): number {
  return median(a.rounds.map((r, i) => r.rps / (b.rounds[i]?.rps ?? NaN)))
}
