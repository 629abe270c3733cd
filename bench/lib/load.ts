import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { median, percentiles, Samples } from './stats.js'
import { onceWrk, wrkAvailable } from './wrk.js'

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
  /**
   * Called before each run (warm-up included), outside the timed window and the CPU
   * accounting: e.g. to make the single-use values (DPoP proofs) the run will send.
   */
  beforeRun?: (durationSec: number) => void | Promise<void>
  /** Called after each run (warm-up included), e.g. to settle state carried between rounds. */
  afterRun?: () => void | Promise<void>
  /** One header that changes per request, cycling through `values` (a new token per request). */
  rotate?: { name: string, values: string[] }
  /** The server under test: its CPU time per request is reported next to the rate. */
  serverPid?: number
  /**
   * wrk when it is installed and the load needs no per-request JavaScript (setupRequest,
   * onResponse) or fixed rate; autocannon otherwise, or when asked for by name.
   */
  generator?: Generator
}

export type Generator = 'wrk' | 'autocannon'

/** The generator a load runs with (see LoadSpec.generator). */
export function generatorOf (spec: LoadSpec): Generator {
  if (spec.generator !== undefined) return spec.generator
  const needsJs = spec.setupRequest !== undefined || spec.onResponse !== undefined || spec.overallRate !== undefined
  return !needsJs && wrkAvailable() ? 'wrk' : 'autocannon'
}

export interface Round {
  rps: number
  p50: number
  p99: number
  ok: number
  failed: number
  errors: number
  generator: Generator
  /** share of one core the load generator's process used (autocannon: the driver's whole process) */
  generatorCpu: number
  /** share of one core the server under test used, when serverPid was given */
  serverCpu?: number
  /** server CPU time per successful request, µs: the product's cost, much less disturbed by neighbours than req/s */
  serverUsPerReq?: number
}

export interface LoadResult extends Round {
  rounds: Round[]
}

/** utime + stime of a process in seconds (clock ticks are 1/100 s on Linux). */
function cpuSeconds (pid: number): number | undefined {
  try {
    // fields after the command name, which is in parentheses and may hold spaces
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return undefined
  }
}

/** One run of `durationSec` with the load's generator, and what the server spent on it. */
export async function once (spec: LoadSpec, durationSec: number): Promise<Round> {
  await spec.beforeRun?.(durationSec)
  const cpu0 = spec.serverPid !== undefined ? cpuSeconds(spec.serverPid) : undefined
  const t0 = performance.now()
  const r = generatorOf(spec) === 'wrk' ? await onceWithWrk(spec, durationSec) : await onceWithAutocannon(spec, durationSec)
  const wallSec = (performance.now() - t0) / 1000
  const cpu1 = spec.serverPid !== undefined ? cpuSeconds(spec.serverPid) : undefined
  if (cpu0 !== undefined && cpu1 !== undefined) {
    r.serverCpu = (cpu1 - cpu0) / wallSec
    r.serverUsPerReq = r.ok > 0 ? ((cpu1 - cpu0) * 1e6) / r.ok : NaN
  }
  return r
}

async function onceWithWrk (spec: LoadSpec, durationSec: number): Promise<Round> {
  const w = await onceWrk({
    url: spec.url,
    connections: spec.connections,
    ...(spec.method !== undefined ? { method: spec.method } : {}),
    ...(spec.headers !== undefined ? { headers: spec.headers } : {}),
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(spec.rotate !== undefined ? { rotate: spec.rotate } : {})
  }, durationSec)
  await spec.afterRun?.()
  return { rps: w.ok / w.durationSec, p50: w.p50, p99: w.p99, ok: w.ok, failed: w.failed, errors: w.errors, generator: 'wrk', generatorCpu: w.cpuSec / w.durationSec }
}

/** The same rotation as wrk's script, as an autocannon per-request hook. */
function rotation (rotate: NonNullable<LoadSpec['rotate']>): NonNullable<LoadSpec['setupRequest']> {
  let next = 0
  return (req) => ({ ...req, headers: { ...(req.headers as Record<string, string>), [rotate.name]: rotate.values[next++ % rotate.values.length]! } })
}

/** One autocannon run; latencies of 2xx responses kept as float ms. */
async function onceWithAutocannon (spec: LoadSpec, durationSec: number): Promise<Round> {
  const cpu0 = process.cpuUsage()
  const samples = new Samples()
  let ok = 0
  let failed = 0
  const request: Record<string, unknown> = {}
  if (spec.setupRequest) request.setupRequest = spec.setupRequest
  else if (spec.rotate) request.setupRequest = rotation(spec.rotate)
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
  const used = process.cpuUsage(cpu0)
  await spec.afterRun?.()
  const [p50 = NaN, p99 = NaN] = percentiles(samples.values(), [50, 99])
  return { rps: ok / result.duration, p50, p99, ok, failed, errors: result.errors + result.timeouts, generator: 'autocannon', generatorCpu: (used.user + used.system) / 1e6 / result.duration }
}

/** Warm-up, then `rounds` measured rounds; the result is the median of each figure. */
export async function measure (spec: LoadSpec, plan: Plan, log: (s: string) => void = () => {}): Promise<LoadResult> {
  if (plan.warmupSec > 0) await once(spec, plan.warmupSec)
  const rounds: Round[] = []
  for (let i = 0; i < plan.rounds; i++) {
    const r = await once(spec, plan.durationSec)
    log(`    round ${i + 1}/${plan.rounds}: ${describeRound(r)}`)
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
      log(`    round ${i + 1}/${plan.rounds} ${name}: ${describeRound(r)}`)
      rounds.get(name)!.push(r)
    }
  }
  return new Map([...rounds].map(([name, rs]) => [name, summary(rs)]))
}

/** One line of progress for the console. */
export function describeRound (r: Round): string {
  const server = r.serverUsPerReq !== undefined ? `, server ${r.serverUsPerReq.toFixed(1)} µs/req at ${(100 * r.serverCpu!).toFixed(0)}% of its core` : ''
  const failures = r.failed + r.errors > 0 ? `, ${r.failed} non-2xx, ${r.errors} errors` : ''
  return `${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${server}, ${r.generator} ${(100 * r.generatorCpu).toFixed(0)}% of its core${failures}`
}

export function summary (rounds: Round[]): LoadResult {
  const defined = (xs: Array<number | undefined>): number[] => xs.filter((x): x is number => x !== undefined)
  const serverUs = defined(rounds.map((r) => r.serverUsPerReq))
  const serverCpu = defined(rounds.map((r) => r.serverCpu))
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    ok: rounds.reduce((a, r) => a + r.ok, 0),
    failed: rounds.reduce((a, r) => a + r.failed, 0),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    generator: rounds[0]?.generator ?? 'autocannon',
    generatorCpu: median(rounds.map((r) => r.generatorCpu)),
    ...(serverUs.length > 0 ? { serverUsPerReq: median(serverUs), serverCpu: median(serverCpu) } : {}),
    rounds
  }
}

/** Median over rounds of A's rate divided by B's rate in the same round. */
export function ratioOfRounds (a: LoadResult, b: LoadResult): number {
  return median(a.rounds.map((r, i) => r.rps / (b.rounds[i]?.rps ?? NaN)))
}

/**
 * The same ratio from CPU cost instead of rate: B's server µs per request over A's,
 * round by round. On a busy machine a neighbour takes the server's core for part of
 * a round and the rate drops with it; the CPU the server spends per request moves
 * far less, so this ratio is the steadier estimate of the rate ratio a quiet core gives.
 */
export function costRatioOfRounds (a: LoadResult, b: LoadResult): number {
  return median(a.rounds.map((r, i) => (b.rounds[i]?.serverUsPerReq ?? NaN) / (r.serverUsPerReq ?? NaN)))
}
