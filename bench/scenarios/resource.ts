import { LOAD_CPU, SERVER_CPU } from '../lib/cpu.js'
import { decodeJwt, jwks, me, pool, refresh, signup } from '../lib/api.js'
import type { Ctx } from '../lib/context.js'
import { measureInterleaved, ratioOfRounds, type LoadResult } from '../lib/load.js'
import type { Row, Section } from '../lib/model.js'
import { resultOf, startNode, waitMessage, ROOT } from '../lib/proc.js'
import { startPair } from '../lib/services.js'
import { median } from '../lib/stats.js'

const CONNECTIONS = 50
const ref = (name: string): string => `${ROOT}bench/refs/${name}`

/** Mints distinct access tokens by walking a few refresh chains in parallel. */
async function mintTokens (auth: string, count: number): Promise<string[]> {
  const chains = 10
  const starts = await pool(Array.from({ length: chains }), 4, async () => (await signup(auth)).refresh_token)
  const per = Math.ceil(count / chains)
  const lists = await Promise.all(starts.map(async (rt) => {
    const out: string[] = []
    let cur = rt
    for (let i = 0; i < per; i++) {
      const t = await refresh(auth, cur)
      out.push(t.access_token)
      cur = t.refresh_token
    }
    return out
  }))
  return lists.flat().slice(0, count)
}

const row = (name: string, role: Row['role'], r: LoadResult, vs?: string): Row =>
  ({ name, role, rps: r.rps, p50: r.p50, p99: r.p99, failed: r.failed + r.errors, ...(vs ? { vs } : {}) })

/** Scenario 1: GET /v1/me with the same token, and with a new token per request. */
export async function resourceScenario (ctx: Ctx): Promise<Section> {
  const { plan, log } = ctx
  const section: Section = {
    id: '1',
    title: 'Resource verification, GET /v1/me',
    setup: [
      `${CONNECTIONS} connections; server under test on CPU ${SERVER_CPU}, autocannon on CPU ${LOAD_CPU} (the auth service, idle during the runs, also on CPU ${LOAD_CPU})`,
      '1a: one token reused (verified once, then served from the verified-token cache); 1b: a pool of distinct tokens, each used once per cycle, larger than the cache',
      'all five HTTP loads run round-robin (one round of each in turn), so background load on this shared machine hits them alike; ratios are medians of per-round ratios',
      'references: a bare Fastify route returning the same JSON (no check at all), Express 5 + jsonwebtoken verifying an RS256 token on every request, and node:crypto verifying the same ES256 signature in a loop (no HTTP)'
    ],
    rows: [],
    targets: [],
    notes: []
  }
  const { auth, resource } = await startPair(ctx.env, { auth: LOAD_CPU, resource: SERVER_CPU }, {}, ctx.profile ? { resource: ctx.profileArgs('resource-1') } : {})
  try {
    const first = await signup(auth.url)
    const body = await me(resource.url, first.access_token)
    const tokenCount = ctx.smoke ? 1_000 : 30_000
    log(`  minting ${tokenCount} distinct access tokens`)
    const tokens = await mintTokens(auth.url, tokenCount)
    section.setup.push(`1b pool: ${tokens.length} distinct tokens cycled (VERIFY_CACHE_SIZE default 10,000)`)
    const kid = decodeJwt(first.access_token).header.kid
    const jwk = (await jwks(auth.url)).keys.find((k) => k.kid === kid)

    // A new token per request costs the load generator too (autocannon rebuilds each
    // request): the same load against the bare route shows where that limit is.
    let next = 0
    const rotating = (req: Record<string, unknown>): Record<string, unknown> => {
      const token = tokens[next++ % tokens.length]!
      return { ...req, headers: { ...(req.headers as Record<string, string>), authorization: `Bearer ${token}` } }
    }
    const bareChild = startNode('bare Fastify', ref('bare-fastify.ts'), { cpu: SERVER_CPU, env: { BENCH_BODY: JSON.stringify(body) } })
    const expressChild = startNode('Express + jsonwebtoken', ref('express-jwt.ts'), { cpu: SERVER_CPU })
    let results: Map<string, LoadResult>
    try {
      const bareUrl = `http://127.0.0.1:${Number((await waitMessage(bareChild, 'ready')).port)}/v1/me`
      const exp = await waitMessage(expressChild, 'ready')
      const same = { authorization: `Bearer ${first.access_token}` }
      log('  bare, Express, 1a, 1b and bare with new tokens, round-robin')
      results = await measureInterleaved([
        ['bare', { url: bareUrl, headers: same, connections: CONNECTIONS }],
        ['bare-rotating', { url: bareUrl, connections: CONNECTIONS, setupRequest: rotating }],
        ['express', { url: `http://127.0.0.1:${Number(exp.port)}/v1/me`, headers: { authorization: `Bearer ${String(exp.token)}` }, connections: CONNECTIONS }],
        ['1a', { url: `${resource.url}/v1/me`, headers: same, connections: CONNECTIONS }],
        ['1b', { url: `${resource.url}/v1/me`, connections: CONNECTIONS, setupRequest: rotating }]
      ], plan, log)
    } finally {
      await bareChild.stop()
      await expressChild.stop()
    }
    const bare = results.get('bare')!
    const bareRotating = results.get('bare-rotating')!
    const express = results.get('express')!
    const a = results.get('1a')!
    const b = results.get('1b')!

    log('  raw ES256 verification (node:crypto, one core)')
    const raw = startNode('es256', ref('es256-verify.ts'), {
      cpu: SERVER_CPU,
      env: { BENCH_TOKEN: first.access_token, BENCH_JWK: JSON.stringify(jwk ?? {}), BENCH_SECONDS: String(Math.max(1, plan.durationSec / 2)), BENCH_ROUNDS: String(plan.rounds) }
    })
    const rates = (await resultOf(raw, 'result', 300_000)).rates as number[]
    const rawRate = median(rates)

    section.rows.push(
      row('bare Fastify route', 'reference', bare),
      row('bare Fastify route, new token per request (load generator limit)', 'reference', bareRotating),
      row('Express + jsonwebtoken RS256', 'reference', express),
      { name: 'raw ES256 verify, node:crypto', role: 'bound', rps: rawRate },
      // what any server doing one verification per request could reach here: the bare
      // route's cost plus one verification, per request
      { name: 'bare route + one ES256 verify (composed)', role: 'bound', rps: 1 / (1 / bare.rps + 1 / rawRate) },
      row('1a product, same token', 'product', a, 'bare Fastify route'),
      row('1a product vs Express', 'product', a, 'Express + jsonwebtoken RS256'),
      row('1b product, new token per request', 'product', b, 'raw ES256 verify, node:crypto'),
      row('1b product vs Express', 'product', b, 'Express + jsonwebtoken RS256'),
      row('1b product vs composed bound', 'product', b, 'bare route + one ES256 verify (composed)')
    )
    section.targets.push(
      { what: '1a same token vs bare Fastify route', measured: ratioOfRounds(a, bare), goal: 0.75, cmp: '>=', unit: '×' },
      { what: '1b new token per request vs raw ES256 verification on one core', measured: b.rps / rawRate, goal: 0.9, cmp: '>=', unit: '×' },
      { what: '1a same token vs Express + jsonwebtoken', measured: ratioOfRounds(a, express), goal: 4, cmp: '>=', unit: '×' }
    )
    if (bareRotating.rps < rawRate * 1.5) {
      section.notes.push(`The load generator alone sends at most ${bareRotating.rps.toFixed(0)} req/s with a new token per request (bare route), not far above the raw verification rate: 1b is partly bounded by the load generator, not by the product.`)
    }
    if (ratioOfRounds(a, bare) > 0.95) {
      section.notes.push('1a runs within 5% of the bare route: the load generator (one core) may be the limit of both, so the true gap may be larger than this ratio shows.')
    }
    return section
  } finally {
    await resource.stop()
    await auth.stop()
  }
}
