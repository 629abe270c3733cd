/**
 * Scenario 4's prober, a process of its own on the load generator's core: for each
 * access token (BENCH_TOKENS_FILE, one per line) it verifies the token once at the
 * resource service, logs it out at the auth service, then polls GET /v1/me back to back
 * until the answer is 401. It reports each delay (end of the logout response to end of
 * the first 401) and its own garbage-collection pauses that fell inside a measured delay.
 * The first BENCH_WARMUP tokens go through the same steps unmeasured, as every other
 * load of the bench has its warm-up: the logout path is compiled while they run.
 *
 * Why a process of its own: run in the bench driver, the prober shared a heap with
 * everything the earlier scenarios left there, and its own scavenges (up to 9 ms) were
 * measured as propagation (bench/README.md, "Propagation").
 */
import { readFileSync } from 'node:fs'
import { PerformanceObserver } from 'node:perf_hooks'
import { client } from '../lib/http.js'
import { tell } from '../lib/proc.js'

const tokens = readFileSync(process.env.BENCH_TOKENS_FILE ?? '', 'utf8').split('\n').filter((t) => t !== '')
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? 2000)
const warmup = Number(process.env.BENCH_WARMUP ?? 0)
const auth = client(process.env.BENCH_AUTH ?? '')
const resource = client(process.env.BENCH_RESOURCE ?? '')

type Span = { start: number, end: number }
const pauses: Span[] = []
const keep = (entries: PerformanceEntry[]): void => {
  for (const e of entries) pauses.push({ start: e.startTime, end: e.startTime + e.duration })
}
const observer = new PerformanceObserver((list) => { keep(list.getEntries()) })
observer.observe({ entryTypes: ['gc'] })

const delays: number[] = []
const polls: number[] = []
const windows: Span[] = []
let timeouts = 0
for (const [i, token] of tokens.entries()) {
  const measured = i >= warmup
  const bearer = { authorization: `Bearer ${token}` }
  if (await resource.send('GET', '/v1/me', bearer) !== 200) throw new Error('a fresh access token was refused')
  const status = await auth.send('POST', '/v1/logout', bearer)
  if (status !== 204) throw new Error(`logout answered ${status}`)
  const t0 = performance.now()
  let n = 0
  for (;;) {
    const s = await resource.send('GET', '/v1/me', bearer)
    n++
    const t = performance.now() - t0
    if (s === 401) { if (measured) { delays.push(t); polls.push(n) } break }
    if (t > timeoutMs) { if (measured) timeouts++; break }
  }
  if (measured) windows.push({ start: t0, end: performance.now() })
}
// entries reach the observer's callback later than the pause itself: take the rest now
keep(observer.takeRecords())
observer.disconnect()
// a pause of our own inside a window is the prober's delay, not the product's
const disturbed = windows.filter((w) => pauses.some((p) => p.end > w.start && p.start < w.end)).length
auth.close()
resource.close()
tell('result', { delays, polls, timeouts, disturbed, gcPauses: pauses.length })
