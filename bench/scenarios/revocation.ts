import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOAD_CPU, SERVER_CPU } from '../lib/cpu.js'
import { login, pool, signup } from '../lib/api.js'
import type { Ctx } from '../lib/context.js'
import { newSection, type Section } from '../lib/model.js'
import { resultOf, ROOT, startNode } from '../lib/proc.js'
import { startPair } from '../lib/services.js'
import { percentiles } from '../lib/stats.js'

/**
 * Scenario 4: time from the logout response (auth) to the first 401 for that
 * session's access token at the resource service. One logout at a time; the token is
 * verified (and cached) first, then polled back to back right after the logout.
 */
export async function revocationScenario (ctx: Ctx): Promise<Section> {
  const { log, env } = ctx
  const count = ctx.smoke ? 20 : 250
  // unmeasured logouts first, as every load of the bench has its warm-up: a profile
  // showed V8 still compiling the logout path, on the same core, during the first ones
  const warmup = ctx.smoke ? 5 : 100
  const timeoutMs = 2000
  const section = newSection('4', 'Revocation propagation, logout → first 401', [
    `${count} logouts (POST /v1/logout with the access token), one at a time; auth and resource on CPU ${SERVER_CPU}, the prober on CPU ${LOAD_CPU}, in a process of its own (bench/probes/revocation-prober.ts)`,
    `${warmup} logouts first, the same way, unmeasured (the warm-up)`,
    'each token is verified once at the resource service before its logout (so it sits in the verified-token cache), then GET /v1/me is sent back to back until it answers 401',
    'the figure is the time from the end of the logout response to the end of the first 401 response, so it includes one poll round trip'
  ])
  const { auth, resource } = await startPair(env, { auth: SERVER_CPU, resource: SERVER_CPU }, {}, ctx.profile ? { auth: ctx.profileArgs('auth-revocation'), resource: ctx.profileArgs('resource-revocation') } : {})
  try {
    log(`  creating ${warmup + count} sessions`)
    const users = await pool(Array.from({ length: 10 }), 4, async () => (await signup(auth.url)).user.email)
    const tokens = await pool(Array.from({ length: warmup + count }), 4, async (_, i) => (await login(auth.url, users[i % users.length]!)).access_token)
    // the prober runs in a lean process of its own: in the driver, its own garbage
    // collection (the driver's heap holds what earlier scenarios left) was measured too
    const dir = mkdtempSync(join(tmpdir(), 'bench-prober-'))
    let result: Record<string, unknown>
    try {
      const file = join(dir, 'tokens.txt')
      writeFileSync(file, tokens.join('\n') + '\n')
      const prober = startNode('revocation prober', `${ROOT}bench/probes/revocation-prober.ts`, {
        cpu: LOAD_CPU,
        env: { BENCH_TOKENS_FILE: file, BENCH_AUTH: auth.url, BENCH_RESOURCE: resource.url, BENCH_TIMEOUT_MS: String(timeoutMs), BENCH_WARMUP: String(warmup) }
      })
      result = await resultOf(prober, 'result', 300_000)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    const delays = result.delays as number[]
    const immediate = (result.polls as number[]).filter((n) => n === 1).length
    const timeouts = result.timeouts as number
    const disturbed = result.disturbed as number
    const [p50 = NaN, p99 = NaN, max = NaN] = percentiles(delays, [50, 99, 100])
    section.rows.push({ name: 'logout → first 401', role: 'product', p50, p99 })
    section.tables = [[
      ['logouts', 'p50 ms', 'p99 ms', 'max ms', '401 on the first poll', `no 401 within ${timeoutMs} ms`],
      [String(count), p50.toFixed(2), p99.toFixed(2), max.toFixed(2), String(immediate), String(timeouts)]
    ]]
    section.targets.push({ what: 'propagation p99', measured: timeouts > count / 100 ? Infinity : p99, goal: 5, cmp: '<=', unit: 'ms' })
    section.notes.push(`The prober's own garbage collection paused it inside ${disturbed} of the ${delays.length} measured windows (${String(result.gcPauses)} pauses in all); those windows are counted as measured.`)
    if (timeouts > 0) section.notes.push(`${timeouts} logouts were still accepted ${timeoutMs} ms later.`)
    return section
  } finally {
    await resource.stop()
    await auth.stop()
  }
}
