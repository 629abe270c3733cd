import { LOAD_CPU, SERVER_CPU } from '../lib/cpu.js'
import { newEmail, PASSWORD, pool, signup } from '../lib/api.js'
import type { Ctx } from '../lib/context.js'
import { once, summary, type LoadResult, type LoadSpec, type Round } from '../lib/load.js'
import { newSection, type Row, type Section } from '../lib/model.js'
import { resultOf, ROOT, startNode } from '../lib/proc.js'
import { startPair } from '../lib/services.js'
import { median } from '../lib/stats.js'

const row = (name: string, role: Row['role'], r: LoadResult, vs?: string): Row =>
  ({ name, role, rps: r.rps, p50: r.p50, p99: r.p99, failed: r.failed + r.errors, ...(vs ? { vs } : {}) })

/**
 * Scenario 3: logins/s against the argon2 bound, and the resource service's latency
 * while a login storm runs. Auth on the server core; the resource service and the
 * load generators on the other, the resource at a fixed, moderate request rate (p99
 * at saturation measures queueing, not interference).
 */
export async function loginScenario (ctx: Ctx): Promise<Section> {
  const { plan, log, env } = ctx
  const argonConcurrency = 4 // ARGON2_MAX_CONCURRENT default
  const stormConnections = argonConcurrency * 2
  const resourceRate = 1000
  const section = newSection('3', 'Login storm', [
    `auth service on CPU ${SERVER_CPU} (argon2id m=19456 KiB, t=2, p=1; ARGON2_MAX_CONCURRENT ${argonConcurrency}; default UV_THREADPOOL_SIZE 4); login storm: ${stormConnections} connections of POST /v1/login over 20 accounts`,
    `bound: the same argon2 verification, ${argonConcurrency} in flight on the same thread pool, alone on CPU ${SERVER_CPU}`,
    `resource service on CPU ${LOAD_CPU} with the load generators, GET /v1/me at a fixed ${resourceRate} req/s over 10 connections, measured without and then during the storm`
  ])

  const { auth, resource } = await startPair(env, { auth: SERVER_CPU, resource: LOAD_CPU }, {}, ctx.profile ? { auth: ctx.profileArgs('auth-login') } : {})
  try {
    const accounts = Array.from({ length: 20 }, () => newEmail())
    await pool(accounts, 4, async (email) => await signup(auth.url, email))
    // The probe's account takes no part in the storm: thousands of logins to one
    // account pass MAX_SESSIONS_PER_USER, and the oldest session, revoked, would
    // answer the probe 401 (last round's report: every probe request failed).
    const prober = await signup(auth.url)
    let n = 0
    const storm: LoadSpec = {
      url: `${auth.url}/v1/login`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      connections: stormConnections,
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ email: accounts[n++ % accounts.length], password: PASSWORD }) })
    }
    const probe: LoadSpec = {
      url: `${resource.url}/v1/me`,
      headers: { authorization: `Bearer ${prober.access_token}` },
      connections: 10,
      overallRate: resourceRate
    }

    // Bound and storm alternate round by round (the auth service idles while the bound
    // runs), and so do the quiet and stormy resource rounds: drift hits both alike.
    log('  argon2 bound and login storm, alternating')
    if (plan.warmupSec > 0) await once(storm, plan.warmupSec)
    const bounds: number[] = []
    const stormRounds: Round[] = []
    for (let i = 0; i < plan.rounds; i++) {
      const bound = startNode('argon2', `${ROOT}bench/refs/argon2-rate.ts`, {
        cpu: SERVER_CPU,
        env: { BENCH_SECONDS: String(plan.durationSec), BENCH_ROUNDS: '1', ARGON2_MAX_CONCURRENT: String(argonConcurrency) }
      })
      bounds.push(((await resultOf(bound, 'result', 600_000)).rates as number[])[0]!)
      stormRounds.push(await once(storm, plan.durationSec))
      log(`    round ${i + 1}/${plan.rounds}: bound ${bounds[i]!.toFixed(1)}/s, logins ${stormRounds[i]!.rps.toFixed(1)}/s`)
    }
    const boundRate = median(bounds)
    const logins = summary(stormRounds)
    section.rows.push({ name: 'argon2id verify bound', role: 'bound', rps: boundRate }, row('product logins', 'product', logins, 'argon2id verify bound'))

    log('  resource latency, quiet and during a login storm, alternating')
    if (plan.warmupSec > 0) await once(probe, plan.warmupSec)
    const quietRounds: Round[] = []
    const stormedRounds: Round[] = []
    for (let i = 0; i < plan.rounds; i++) {
      quietRounds.push(await once(probe, plan.durationSec))
      stormedRounds.push(await duringStorm(probe, storm, plan.durationSec))
      log(`    round ${i + 1}/${plan.rounds}: p99 quiet ${quietRounds[i]!.p99.toFixed(2)} ms, during storm ${stormedRounds[i]!.p99.toFixed(2)} ms`)
    }
    const quiet = summary(quietRounds)
    const stormed = summary(stormedRounds)
    section.rows.push(row('resource GET /v1/me, quiet', 'product', quiet), row('resource GET /v1/me, during storm', 'product', stormed))
    section.targets.push(
      { what: 'logins/s vs the argon2 bound', measured: median(stormRounds.map((r, i) => r.rps / bounds[i]!)), goal: 0.95, cmp: '>=', unit: '×' },
      { what: 'resource p99 during the storm vs without it', measured: median(stormedRounds.map((r, i) => r.p99 / quietRounds[i]!.p99)), goal: 1.2, cmp: '<=', unit: '×' }
    )
    return section
  } finally {
    await resource.stop()
    await auth.stop()
  }
}

/** One round of the probe while the storm runs (started a second earlier to fill the argon2 pool). */
async function duringStorm (probe: LoadSpec, storm: LoadSpec, seconds: number): Promise<Round> {
  const stormRun = once(storm, seconds + 2)
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    return await once(probe, seconds)
  } finally {
    await stormRun
  }
}
