import { Redis } from 'ioredis'
import { LOAD_CPU, SERVER_CPU } from '../lib/cpu.js'
import { pool, signup } from '../lib/api.js'
import { Chains } from '../lib/chains.js'
import type { Ctx } from '../lib/context.js'
import { measure, type LoadResult } from '../lib/load.js'
import type { Row, Section } from '../lib/model.js'
import { freePort, ROOT, startNode, waitMessage } from '../lib/proc.js'
import { readTemplate, seedSessions } from '../lib/seed.js'
import { ensureStream, startService } from '../lib/services.js'

const row = (name: string, role: Row['role'], r: LoadResult, vs?: string): Row =>
  ({ name, role, rps: r.rps, p50: r.p50, p99: r.p99, failed: r.failed + r.errors, ...(vs ? { vs } : {}) })

/** Scenario 2: POST /v1/refresh with rotation, each chain walked by one request at a time. */
export async function refreshScenario (ctx: Ctx): Promise<Section> {
  const { plan, log, env } = ctx
  const connections = ctx.smoke ? 10 : 50
  const chainCount = connections + 10
  const spareCount = ctx.smoke ? 4 : 20
  const sizes = ctx.smoke ? [1_000] : [1_000, 100_000, 1_000_000]
  const section: Section = {
    id: '2',
    title: 'Refresh with rotation, POST /v1/refresh',
    setup: [
      `${connections} connections over ${chainCount} refresh chains (one request per chain at a time; ${spareCount} spare chains replace any that fail); server on CPU ${SERVER_CPU}, autocannon on CPU ${LOAD_CPU}; the machine's Redis`,
      'reference: oidc-provider (v8, for Node 20) refresh_token grant, rotation on, ES256 JWT access tokens, its in-memory adapter, no ID token',
      `live sessions seeded in Redis before each product run: ${sizes.map((n) => n.toLocaleString('en-US')).join(', ')} (clones of a session the auth service wrote, pipelined)`
    ],
    rows: [],
    targets: [],
    notes: []
  }

  log('  oidc-provider reference')
  const oidc = startNode('oidc-provider', `${ROOT}bench/refs/oidc.ts`, { cpu: SERVER_CPU, env: { PORT: String(await freePort()), BENCH_SESSIONS: String(chainCount + spareCount) } })
  let ref: LoadResult
  try {
    const ready = await waitMessage(oidc, 'ready')
    const tokens = ready.tokens as string[]
    const chains = new Chains(tokens.slice(0, chainCount), tokens.slice(chainCount))
    const spec = chains.spec(`http://127.0.0.1:${Number(ready.port)}/token`, true, connections)
    ref = await measure({ ...spec, afterRun: () => chains.settle() }, plan, log)
    section.rows.push(row('oidc-provider', 'reference', ref))
  } finally { await oidc.stop() }

  await ensureStream(env)
  const auth = await startService('auth', env, { cpu: SERVER_CPU, ...(ctx.profile ? { nodeArgs: ctx.profileArgs('auth-refresh') } : {}) })
  const redis = new Redis(env.base.REDIS_URL!)
  try {
    log(`  signing up ${chainCount + spareCount} users for the chains`)
    const starts = await pool(Array.from({ length: chainCount + spareCount }), 8, async () => (await signup(auth.url)).refresh_token)
    const template = await readTemplate(redis, env.prefix, starts[0]!)
    const chains = new Chains(starts.slice(0, chainCount), starts.slice(chainCount))
    const spec = chains.spec(`${auth.url}/v1/refresh`, false, connections)
    const results: Array<[number, LoadResult]> = []
    let seeded = starts.length
    for (const size of sizes) {
      const t0 = Date.now()
      const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1])
      await seedSessions(redis, env.prefix, template, size - seeded)
      const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1])
      log(`  seeded ${(size - seeded).toLocaleString('en-US')} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s (${((after - before) / Math.max(1, size - seeded)).toFixed(0)} B each in used_memory)`)
      seeded = size
      log(`  product, ${size.toLocaleString('en-US')} live sessions`)
      const r = await measure({ ...spec, afterRun: () => chains.settle() }, plan, log)
      results.push([size, r])
      section.rows.push(row(`product, ${size.toLocaleString('en-US')} sessions`, 'product', r, 'oidc-provider'))
    }
    const [, first] = results[0]!
    const slowest = Math.min(...results.map(([, r]) => r.rps))
    const worstP99 = Math.max(...results.map(([, r]) => r.p99))
    section.targets.push(
      { what: `refreshes/s on one core, ${sizes[0]!.toLocaleString('en-US')} live sessions`, measured: first.rps, goal: 5000, cmp: '>=', unit: '/s' },
      { what: 'vs oidc-provider', measured: first.rps / ref.rps, goal: 1.8, cmp: '>=', unit: '×' },
      { what: `p99 at ${connections} connections (worst session count)`, measured: worstP99, goal: 20, cmp: '<=', unit: 'ms' }
    )
    if (results.length > 1) {
      section.targets.push({ what: `flat: slowest / first rate across ${sizes.length} session counts`, measured: slowest / first.rps, goal: 0.9, cmp: '>=', unit: '×' })
    }
    if (chains.broken > 0) section.notes.push(`${chains.broken} product chains failed and were replaced by spares (see the failed column).`)
    return section
  } finally {
    redis.disconnect()
    await auth.stop()
  }
}
