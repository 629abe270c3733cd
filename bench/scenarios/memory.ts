import { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'
import { LOAD_CPU, SERVER_CPU } from '../lib/cpu.js'
import { decodeJwt, login, pool, refresh, signup } from '../lib/api.js'
import type { Ctx } from '../lib/context.js'
import { newSection, type Section } from '../lib/model.js'
import { resultOf, ROOT, startNode } from '../lib/proc.js'
import { startPair } from '../lib/services.js'

/** MEMORY USAGE of a session: its hash plus its share of the user's session index. */
async function perSession (redis: Redis, prefix: string, refreshTokens: string[]): Promise<number> {
  let total = 0
  const indexes = new Map<string, number>()
  for (const rt of refreshTokens) {
    const { sub, sid } = decodeJwt(rt).payload as { sub: string, sid: string }
    total += Number(await redis.call('MEMORY', 'USAGE', prefix + redisKeys.session(sub, sid), 'SAMPLES', '0') ?? 0)
    const index = prefix + redisKeys.sessions(sub)
    if (!indexes.has(index)) {
      const bytes = Number(await redis.call('MEMORY', 'USAGE', index, 'SAMPLES', '0') ?? 0)
      const members = await redis.zcard(index)
      indexes.set(index, members > 0 ? bytes / members : 0)
    }
    total += indexes.get(index)!
  }
  return total / refreshTokens.length
}

/**
 * Scenario 5: Redis bytes per live session, sampled with MEMORY USAGE over sessions
 * the auth service created; and the resource service's heap per remembered revocation.
 */
export async function memoryScenario (ctx: Ctx): Promise<Section> {
  const { log, env } = ctx
  const users = ctx.smoke ? 5 : 20
  const perUser = 5
  const revocations = ctx.smoke ? 5_000 : 100_000
  const section = newSection('5', 'Memory', [
    `Redis: MEMORY USAGE (SAMPLES 0) of each session hash plus its share of the user's session index (sorted set), over ${users} accounts with one session (sign-up only), the same after one refresh (a rotated session keeps its previous token for the grace window), and ${users} accounts with ${perUser} sessions each`,
    `resource service: heap growth (heapUsed after full GCs, --expose-gc) after ${revocations.toLocaleString('en-US')} session revocations arrive over JetStream, divided by their number`
  ])
  const { auth, resource } = await startPair(env, { auth: SERVER_CPU, resource: LOAD_CPU })
  await resource.stop() // only its JWKS source (auth) is needed; the probe builds its own
  const redis = new Redis(env.base.REDIS_URL!)
  try {
    log(`  creating sessions (${users} + ${users * perUser})`)
    const single = await pool(Array.from({ length: users }), 4, async () => (await signup(auth.url)).refresh_token)
    const multiUsers = await pool(Array.from({ length: users }), 4, async () => await signup(auth.url))
    const multi = [
      ...multiUsers.map((u) => u.refresh_token),
      ...await pool(Array.from({ length: users * (perUser - 1) }), 4, async (_, i) => (await login(auth.url, multiUsers[i % users]!.user.email)).refresh_token)
    ]
    const one = await perSession(redis, env.prefix, single)
    const rotated = await perSession(redis, env.prefix, await pool(single, 4, async (rt) => (await refresh(auth.url, rt)).refresh_token))
    const many = await perSession(redis, env.prefix, multi)

    log(`  resource heap per revocation (${revocations})`)
    const probe = startNode('revocation-heap', `${ROOT}bench/probes/revocation-heap.ts`, {
      cpu: SERVER_CPU,
      nodeArgs: ['--expose-gc'],
      env: { ...env.base, ISSUER: auth.url, JWKS_URL: `${auth.url}/.well-known/jwks.json`, BENCH_COUNT: String(revocations) }
    })
    const heap = await resultOf(probe, 'result', 600_000)
    const perRevocation = Number(heap.perRevocation)

    section.tables = [[
      ['figure', 'bytes'],
      ['Redis per session, one session per account', one.toFixed(0)],
      ['Redis per session, one session per account, refreshed once', rotated.toFixed(0)],
      [`Redis per session, ${perUser} sessions per account`, many.toFixed(0)],
      [`resource heap per remembered revocation (slope over the second ${Math.ceil(revocations / 2).toLocaleString('en-US')})`, perRevocation.toFixed(0)],
      [`resource heap per remembered revocation (average over all ${revocations.toLocaleString('en-US')}, fixed costs included)`, Number(heap.average).toFixed(0)]
    ]]
    section.targets.push(
      { what: 'Redis bytes per live session (one per account, refreshed: the worst case)', measured: Math.max(one, rotated, many), goal: 512, cmp: '<=', unit: 'B' },
      { what: 'resource heap per remembered revocation', measured: perRevocation, goal: 200, cmp: '<=', unit: 'B' }
    )
    section.notes.push('The account record (user hash, e-mail index) is per account, not per session, and is not counted.')
    return section
  } finally {
    redis.disconnect()
    await auth.stop()
  }
}
