/**
 * One user with N sessions (default 100,000), seeded straight through the
 * session store into a Redis of the probe's own: how long the session list,
 * a session deletion, a login and logout-all take, how long the longest
 * single Redis call ran (SLOWLOG), how long the event loop was held, and what
 * another user's refreshes saw meanwhile.
 *
 *   npx tsx --conditions=ratchet-source bench/probes/session-bounds.ts [N]
 *
 * AUTH_ROOT (default: this tree's services/auth) points at another checkout's
 * auth service, to measure a version from before a change the same way.
 */
import { spawn } from 'node:child_process'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { resolve } from 'node:path'
import { Redis } from 'ioredis'

const N = Number(process.argv[2] ?? 100_000)
const root = resolve(process.env.AUTH_ROOT ?? resolve(import.meta.dirname, '../../services/auth'))
const helpers = await import(resolve(root, 'test/helpers.ts'))
const { createSessionStore } = await import(resolve(root, 'src/stores/sessions.ts'))

const port = await helpers.freePort()
const redisProc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
const redisUrl = `redis://127.0.0.1:${port}`
const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }

try {
  const admin = new Redis(redisUrl, { retryStrategy: () => 50 })
  admin.on('error', () => {})
  await helpers.eventually(async () => (await admin.ping().catch(() => '')) === 'PONG' || undefined, 10000)
  const { url, config } = await helpers.startAuth(t, { REDIS_URL: redisUrl, MAX_SESSIONS_PER_USER: 100 })
  const password = 'probe-password'
  const signUp = async () => {
    const email = helpers.uniqueEmail()
    const res = await helpers.call(`${url}/v1/signup`, { body: { email, password } })
    return { email, sub: String(res.body.user.id), body: res.body }
  }
  const heavy = await signUp()
  const caller = (await helpers.call(`${url}/v1/login`, { body: { email: heavy.email, password } })).body

  const redis = new Redis(redisUrl, { keyPrefix: config.REDIS_PREFIX })
  const store = createSessionStore(redis, config.REDIS_PREFIX)
  const seedStart = Date.now()
  for (let i = 0; i < N; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, N - i) }, (_, j) => store.create({
      sub: heavy.sub, sid: `seed-${i + j}`, jti: `j-${i + j}`, clientId: 'first-party', scope: 'notes:read notes:write', now: Date.now() - 1000, idleMs: 3_600_000, maxMs: 7_200_000, maxSessions: 1_000_000_000
    })))
  }
  console.log(`seeded ${N} sessions of one user in ${Date.now() - seedStart} ms (index holds ${await redis.zcard(`sessions:{${heavy.sub}}`)})`)

  // another user refreshing in a loop while the heavy user's requests run
  const bystander = await signUp()
  let token = String(bystander.body.refresh_token)
  const loop = monitorEventLoopDelay({ resolution: 1 })

  async function measure (label: string, run: () => Promise<{ status: number, bytes?: number }>): Promise<void> {
    await admin.config('SET', 'slowlog-log-slower-than', '0')
    await admin.slowlog('RESET')
    const latencies: number[] = []
    const statuses: Record<string, number> = {}
    const state = { running: true }
    const refreshes = (async () => {
      while (state.running) {
        const t0 = performance.now()
        const res = await helpers.call(`${url}/v1/refresh`, { body: { refresh_token: token } })
        latencies.push(performance.now() - t0)
        statuses[res.status] = (statuses[res.status] ?? 0) + 1
        if (res.status === 200) token = String(res.body.refresh_token)
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 50))
    loop.reset()
    loop.enable()
    const t0 = performance.now()
    const res = await run()
    const ms = performance.now() - t0
    loop.disable()
    await new Promise((resolve) => setTimeout(resolve, 50))
    state.running = false
    await refreshes
    const slow = (await admin.slowlog('GET', 100000)) as Array<[number, number, number, string[]]>
    const longest = slow.reduce((m, e) => Math.max(m, Number(e[2])), 0)
    const sorted = latencies.sort((a, b) => a - b)
    const p = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1)
    console.log(`${label}: ${res.status}${res.bytes !== undefined ? `, ${res.bytes} bytes` : ''}, ${ms.toFixed(0)} ms; longest Redis call ${(longest / 1000).toFixed(1)} ms; event loop held up to ${(loop.max / 1e6).toFixed(1)} ms; bystander refreshes n=${sorted.length} p50 ${p(0.5)} ms max ${p(1)} ms, statuses ${JSON.stringify(statuses)}`)
  }

  const bearer = { authorization: `Bearer ${String(caller.access_token)}` }
  await measure('GET /v1/sessions', async () => {
    const res = await fetch(`${url}/v1/sessions`, { headers: bearer })
    return { status: res.status, bytes: (await res.arrayBuffer()).byteLength }
  })
  await measure('DELETE /v1/sessions/seed-7', async () => {
    const res = await fetch(`${url}/v1/sessions/seed-7`, { method: 'DELETE', headers: bearer })
    return { status: res.status }
  })
  await measure('POST /v1/login (at N sessions)', async () => {
    const res = await fetch(`${url}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: heavy.email, password }) })
    return { status: res.status }
  })
  await measure('POST /v1/logout-all', async () => {
    const res = await fetch(`${url}/v1/logout-all`, { method: 'POST', headers: bearer })
    return { status: res.status }
  })
  console.log(`index after logout-all: ${await redis.zcard(`sessions:{${heavy.sub}}`)} entries`)
  redis.disconnect()
  admin.disconnect()
} finally {
  for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => {})
  redisProc.kill('SIGKILL')
}
