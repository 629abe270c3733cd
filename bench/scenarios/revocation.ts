import { LOAD_CPU, SERVER_CPU } from '../lib/cpu.js'
import { login, pool, signup } from '../lib/api.js'
import type { Ctx } from '../lib/context.js'
import { client } from '../lib/http.js'
import { newSection, type Section } from '../lib/model.js'
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
  const timeoutMs = 2000
  const section = newSection('4', 'Revocation propagation, logout → first 401', [
    `${count} logouts (POST /v1/logout with the access token), one at a time; auth and resource on CPU ${SERVER_CPU}, the prober on CPU ${LOAD_CPU}`,
    'each token is verified once at the resource service before its logout (so it sits in the verified-token cache), then GET /v1/me is sent back to back until it answers 401',
    'the figure is the time from the end of the logout response to the end of the first 401 response, so it includes one poll round trip'
  ])
  const { auth, resource } = await startPair(env, { auth: SERVER_CPU, resource: SERVER_CPU })
  const a = client(auth.url)
  const r = client(resource.url)
  try {
    log(`  creating ${count} sessions`)
    const users = await pool(Array.from({ length: 10 }), 4, async () => (await signup(auth.url)).user.email)
    const tokens = await pool(Array.from({ length: count }), 4, async (_, i) => (await login(auth.url, users[i % users.length]!)).access_token)
    const delays: number[] = []
    let timeouts = 0
    let immediate = 0
    for (const token of tokens) {
      const bearer = { authorization: `Bearer ${token}` }
      if (await r.send('GET', '/v1/me', bearer) !== 200) throw new Error('a fresh access token was refused')
      const status = await a.send('POST', '/v1/logout', bearer)
      if (status !== 204) throw new Error(`logout answered ${status}`)
      const t0 = performance.now()
      let polls = 0
      for (;;) {
        const s = await r.send('GET', '/v1/me', bearer)
        polls++
        const t = performance.now() - t0
        if (s === 401) { delays.push(t); if (polls === 1) immediate++; break }
        if (t > timeoutMs) { timeouts++; break }
      }
    }
    const [p50 = NaN, p99 = NaN, max = NaN] = percentiles(delays, [50, 99, 100])
    section.rows.push({ name: 'logout → first 401', role: 'product', p50, p99 })
    section.tables = [[
      ['logouts', 'p50 ms', 'p99 ms', 'max ms', '401 on the first poll', `no 401 within ${timeoutMs} ms`],
      [String(count), p50.toFixed(2), p99.toFixed(2), max.toFixed(2), String(immediate), String(timeouts)]
    ]]
    section.targets.push({ what: 'propagation p99', measured: timeouts > count / 100 ? Infinity : p99, goal: 5, cmp: '<=', unit: 'ms' })
    if (timeouts > 0) section.notes.push(`${timeouts} logouts were still accepted ${timeoutMs} ms later.`)
    return section
  } finally {
    a.close()
    r.close()
    await resource.stop()
    await auth.stop()
  }
}
