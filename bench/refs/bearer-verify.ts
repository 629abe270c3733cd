/**
 * What verifying the caller's access token costs at the auth service's own Bearer
 * routes (logout, sessions, account), by the way @fastify/jwt is called: routes on one
 * app, each answered through `inject` in a loop, on one core, interleaved rounds.
 *   none:     the same route verifying nothing (what inject and the route cost)
 *   request:  `request.accessJwtVerify()`, as plugins/jwt.ts registers it: the key
 *             looked up by kid, one verifier per key kept by @fastify/jwt
 *   direct:   tokens/jwt.ts's own verifier for a token in a body (a fast-jwt
 *             verifier per key), for what @fastify/jwt's request path adds
 *   per-call: `app.jwt.verify(token, { key })`, the key named per call, as the
 *             service did before (a verifier built, and the PEM imported, each time)
 * The difference to `none` is the verification. `npx tsx bench/refs/bearer-verify.ts`;
 * BENCH_SECONDS, BENCH_ROUNDS. services/auth/README.md quotes the results.
 */
import Fastify from 'fastify'
import fastifyJwt, { type JWT } from '@fastify/jwt'
import { createKeyRing } from '../../services/auth/src/keys/ring.js'
import { generateAccessKey, generateRefreshKey } from '../../services/auth/src/keys/jwk.js'
import { currentKeySigner } from '../../services/auth/src/keys/signer.js'
import jwtPlugin from '../../services/auth/src/plugins/jwt.js'
import { accessVerifierOptions, createJwt } from '../../services/auth/src/tokens/jwt.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 1)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)

const now = Date.now()
const ring = createKeyRing({ access: [generateAccessKey('ES256', now)], refresh: [generateRefreshKey(now)] }, 'ES256', now, 60_000)
const options = { issuer: 'http://localhost:3001', audience: 'ratchet-api', leewaySeconds: 5 }
const iat = Math.floor(now / 1000)
const token = currentKeySigner<object>(() => ring, 'at+jwt')({ iss: options.issuer, aud: options.audience, sub: 'u', sid: 's', jti: 'j', client_id: 'first-party', scope: 'openid', auth_time: iat, iat, exp: iat + 900 })
const k = ring.accessKey(ring.signingKey.kid)!

const app = Fastify({ logger: false })
await app.register(jwtPlugin, { ring: () => ring, options })
// a namespace told the key per call, as the service's verify was before
await app.register(fastifyJwt, { namespace: 'perCall', secret: { public: k.publicPem } })
app.get('/none', async () => ({ ok: true }))
app.get('/request', async (request) => { await request.accessJwtVerify(); return { ok: true } })
const jwt = createJwt(() => ring, options)
app.get('/direct', async (request) => { jwt.verifyAccess(request.headers.authorization!.slice(7)); return { ok: true } })
// plugins/jwt.ts declares the service's own namespaces only
const perCall = (app.jwt as unknown as Record<'perCall', JWT>).perCall
app.get('/per-call', async () => {
  perCall.verify(token, { key: k.publicPem, algorithms: ['ES256'], ...accessVerifierOptions(options, false) })
  return { ok: true }
})
await app.ready()

const headers = { authorization: `Bearer ${token}` }
async function rate (url: string, ms: number): Promise<number> {
  const end = performance.now() + ms
  let n = 0
  while (performance.now() < end) {
    const r = await app.inject({ url, headers })
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`)
    n++
  }
  return n / (ms / 1000)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const paths = ['none', 'request', 'direct', 'per-call']
for (const p of paths) await rate(`/${p}`, 300) // warm-up
const results: Record<string, number[]> = Object.fromEntries(paths.map((p) => [p, []]))
for (let r = 0; r < rounds; r++) for (const p of paths) results[p]!.push(await rate(`/${p}`, seconds * 1000))
const baseUs = 1e6 / median(results.none!)
for (const p of paths) {
  const us = 1e6 / median(results[p]!)
  console.log(`${p.padEnd(8)} ${Math.round(median(results[p]!)).toString().padStart(6)} requests/s  ${us.toFixed(1).padStart(6)} µs each, ${(us - baseUs).toFixed(1).padStart(6)} µs over none`)
}
await app.close()
