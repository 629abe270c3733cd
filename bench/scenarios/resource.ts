import { LOAD_CPU, SERVER_CPU } from '../lib/cpu.js'
import { decodeJwt, jwks, me, pool, refresh, signup } from '../lib/api.js'
import type { Ctx } from '../lib/context.js'
import { costRatioOfRounds, generatorOf, measureInterleaved, ratioOfRounds, type LoadSpec } from '../lib/load.js'
import { loadRow as row, newSection, type Section } from '../lib/model.js'
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

/** Scenario 1: GET /v1/me with the same token, and with a new token per request. */
export async function resourceScenario (ctx: Ctx): Promise<Section> {
  const { plan, log } = ctx
  const section = newSection('1', 'Resource verification, GET /v1/me', [
    `${CONNECTIONS} connections; server under test on CPU ${SERVER_CPU}, the load generator on CPU ${LOAD_CPU} (the auth service, idle during the runs, also on CPU ${LOAD_CPU}; the references wait idle on CPU ${SERVER_CPU} while the product runs)`,
    '1a: one token reused (verified once, then served from the verified-token cache); 1b: a pool of distinct tokens, each used once per cycle, larger than the cache',
    'all five HTTP loads run round-robin (one round of each in turn), so background load on this shared machine hits them alike; ratios are medians of per-round ratios',
    'references: a bare Fastify route returning the same JSON (no check at all), Express 5 + jsonwebtoken verifying an RS256 token on every request, node:crypto verifying the same ES256 signature in a loop (no HTTP), and the bare route verifying each new token\'s ES256 signature (the composed bound as a server: nothing else, no claims, no cache)'
  ])
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

    // A new token per request may cost the load generator too: the same load against
    // the bare route shows where that limit is.
    const rotating = { name: 'authorization', values: tokens.map((t) => `Bearer ${t}`) }
    const bareChild = startNode('bare Fastify', ref('bare-fastify.ts'), { cpu: SERVER_CPU, env: { BENCH_BODY: JSON.stringify(body) } })
    const expressChild = startNode('Express + jsonwebtoken', ref('express-jwt.ts'), { cpu: SERVER_CPU })
    const bareVerifyChild = startNode('bare Fastify + ES256 verify', ref('bare-verify.ts'), { cpu: SERVER_CPU, env: { BENCH_BODY: JSON.stringify(body), BENCH_JWK: JSON.stringify(jwk ?? {}) } })
    let results
    try {
      const bareUrl = `http://127.0.0.1:${Number((await waitMessage(bareChild, 'ready')).port)}/v1/me`
      const exp = await waitMessage(expressChild, 'ready')
      const bareVerifyUrl = `http://127.0.0.1:${Number((await waitMessage(bareVerifyChild, 'ready')).port)}/v1/me`
      const same = { authorization: `Bearer ${first.access_token}` }
      const bareSpec: LoadSpec = { url: bareUrl, headers: same, connections: CONNECTIONS, serverPid: bareChild.proc.pid! }
      const warmSpec: LoadSpec = { url: `${resource.url}/v1/me`, headers: same, connections: CONNECTIONS, serverPid: resource.proc.pid! }
      const loads: Array<[string, LoadSpec]> = [
        ['bare', bareSpec],
        ['bare-rotating', { url: bareUrl, connections: CONNECTIONS, rotate: rotating, serverPid: bareChild.proc.pid! }],
        ['express', { url: `http://127.0.0.1:${Number(exp.port)}/v1/me`, headers: { authorization: `Bearer ${String(exp.token)}` }, connections: CONNECTIONS, serverPid: expressChild.proc.pid! }],
        ['1a', warmSpec],
        ['1b', { url: `${resource.url}/v1/me`, connections: CONNECTIONS, rotate: rotating, serverPid: resource.proc.pid! }],
        ['bare-verify', { url: bareVerifyUrl, connections: CONNECTIONS, rotate: rotating, serverPid: bareVerifyChild.proc.pid! }]
      ]
      // the generator the bench used before wrk, on the same servers in the same rounds:
      // shows how far a JavaScript load generator in the driver's process bends the figure
      if (ctx.crosscheck && generatorOf(warmSpec) === 'wrk') {
        loads.push(['bare-autocannon', { ...bareSpec, generator: 'autocannon' }], ['1a-autocannon', { ...warmSpec, generator: 'autocannon' }])
      }
      log(`  ${loads.map(([n]) => n).join(', ')}, round-robin (${generatorOf(warmSpec)})`)
      results = await measureInterleaved(loads, plan, log)
    } finally {
      await bareChild.stop()
      await expressChild.stop()
      await bareVerifyChild.stop()
    }
    const bare = results.get('bare')!
    const bareRotating = results.get('bare-rotating')!
    const express = results.get('express')!
    const a = results.get('1a')!
    const b = results.get('1b')!
    const bareVerify = results.get('bare-verify')!

    log('  raw ES256 verification (node:crypto, one core)')
    const raw = startNode('es256', ref('es256-verify.ts'), {
      cpu: SERVER_CPU,
      env: { BENCH_TOKEN: first.access_token, BENCH_JWK: JSON.stringify(jwk ?? {}), BENCH_SECONDS: String(Math.max(1, plan.durationSec / 2)), BENCH_ROUNDS: String(plan.rounds) }
    })
    const rates = (await resultOf(raw, 'result', 300_000)).rates as number[]
    const rawRate = median(rates)

    const composed = 1 / (1 / bare.rps + 1 / rawRate)
    section.rows.push(
      row('bare Fastify route', 'reference', bare),
      row('bare Fastify route, new token per request (load generator limit)', 'reference', bareRotating),
      row('Express + jsonwebtoken RS256', 'reference', express),
      { name: 'raw ES256 verify, node:crypto', role: 'bound', rps: rawRate },
      // what any server doing one verification per request could reach here: the bare
      // route's cost plus one verification, per request
      { name: 'bare route + one ES256 verify (composed)', role: 'bound', rps: composed },
      // the same bound run as a server, on the same new-token-per-request load
      row('bare route + one ES256 verify, as a server (measured)', 'bound', bareVerify),
      row('1a product, same token', 'product', a, 'bare Fastify route'),
      row('1a product vs Express', 'product', a, 'Express + jsonwebtoken RS256'),
      row('1b product, new token per request', 'product', b, 'raw ES256 verify, node:crypto'),
      row('1b product vs Express', 'product', b, 'Express + jsonwebtoken RS256'),
      row('1b product vs composed bound', 'product', b, 'bare route + one ES256 verify (composed)'),
      row('1b product vs the measured bound', 'product', b, 'bare route + one ES256 verify, as a server (measured)')
    )
    section.targets.push(
      { what: '1a same token vs bare Fastify route', measured: ratioOfRounds(a, bare), goal: 0.75, cmp: '>=', unit: '×' },
      { what: '1b new token per request vs the composed bound (bare route + one ES256 verify)', measured: b.rps / composed, goal: 0.9, cmp: '>=', unit: '×' },
      { what: '1b new token per request vs the same bound measured as a server (bare route verifying each token)', measured: ratioOfRounds(b, bareVerify), goal: 0.9, cmp: '>=', unit: '×' },
      { what: '1a same token vs Express + jsonwebtoken', measured: ratioOfRounds(a, express), goal: 4, cmp: '>=', unit: '×' }
    )
    if (a.serverUsPerReq !== undefined && bare.serverUsPerReq !== undefined) {
      section.notes.push(`Server CPU per request: bare route ${bare.serverUsPerReq.toFixed(1)} µs, 1a ${a.serverUsPerReq.toFixed(1)} µs, 1b ${b.serverUsPerReq?.toFixed(1) ?? '?'} µs, Express ${express.serverUsPerReq?.toFixed(1) ?? '?'} µs. ` +
        `The same ratios from CPU cost (steadier than req/s while neighbours share the machine): 1a ${costRatioOfRounds(a, bare).toFixed(2)}× bare, ${costRatioOfRounds(a, express).toFixed(2)}× Express.`)
    }
    // Why the sum overstates what one verification per request allows: on these virtual
    // machines a server that answers more slowly leaves the load generator's core idle
    // between answers, and each answer's write then pays for waking it (bench/README.md).
    section.notes.push(`The composed bound run as a server (the bare route verifying each new token, nothing else) served ${bareVerify.rps.toFixed(0)} req/s, ` +
      `${(bareVerify.rps / composed).toFixed(2)}× the sum 1 / (1/bare + 1/verify)` +
      (bareVerify.serverUsPerReq !== undefined ? ` at ${bareVerify.serverUsPerReq.toFixed(1)} µs/req, where the sum assumes ${(1e6 / composed).toFixed(1)}` : '') +
      `: 1b is ${ratioOfRounds(b, bareVerify).toFixed(2)}× that server.`)
    const busiest = Math.max(...[bare, bareRotating, express, a, b, bareVerify].map((r) => r.generatorCpu))
    section.notes.push(`Load generator: ${bare.generator}, at most ${(100 * busiest).toFixed(0)}% of its core in the median round of any load` +
      (busiest > 0.85 ? ': close to its limit, so the fastest loads may be bounded by it rather than by the server.' : ', so it was not the limit: the servers were.'))
    if (bareRotating.rps < composed * 1.5) {
      section.notes.push(`The load generator alone sends at most ${bareRotating.rps.toFixed(0)} req/s with a new token per request (bare route), not far above the composed bound: 1b is partly bounded by the load generator, not by the product.`)
    }
    const acBare = results.get('bare-autocannon')
    const acWarm = results.get('1a-autocannon')
    if (acBare !== undefined && acWarm !== undefined) {
      section.rows.push(row('cross-check: bare Fastify route, autocannon', 'reference', acBare), row('cross-check: 1a product, autocannon', 'product', acWarm, 'cross-check: bare Fastify route, autocannon'))
      section.notes.push(`Cross-check, same servers and rounds with autocannon in the driver's process: 1a ${ratioOfRounds(acWarm, acBare).toFixed(2)}× bare (wrk: ${ratioOfRounds(a, bare).toFixed(2)}×); ` +
        `autocannon used ${(100 * acBare.generatorCpu).toFixed(0)}% / ${(100 * acWarm.generatorCpu).toFixed(0)}% of its core, the servers ${(100 * (acBare.serverCpu ?? NaN)).toFixed(0)}% / ${(100 * (acWarm.serverCpu ?? NaN)).toFixed(0)}%.`)
    }
    return section
  } finally {
    await resource.stop()
    await auth.stop()
  }
}
