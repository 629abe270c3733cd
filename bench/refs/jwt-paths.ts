/**
 * Why two hot paths go beneath @fastify/jwt: ES256 access-token verifications and
 * signatures per second on one core, interleaved rounds (services/resource/README.md
 * and services/auth/README.md quote the results).
 *   resource: the resource service's own TokenVerifier (split once, one-shot
 *             node:crypto verify against a KeyObject, claims checked by hand), cache off
 *   direct:   a fast-jwt verifier (signer) made once per key, what the resource
 *             service used before and the auth service's keys/signer.ts did (it now
 *             signs with one crypto.sign call per token)
 *   per-call: @fastify/jwt naming the key per call, which rotating keys need
 *             (it builds a verifier or signer, and parses the key, each call)
 *   static:   @fastify/jwt with one static key (no rotation possible), for reference
 * `npx tsx bench/refs/jwt-paths.ts`; BENCH_SECONDS, BENCH_ROUNDS.
 */
import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import fastifyJwt, { type JWT } from '@fastify/jwt'
import { createSigner, createVerifier } from 'fast-jwt'
import { importJwk, type VerificationKey } from '../../services/resource/src/keys/jwk.js'
import type { KeyStore } from '../../services/resource/src/keys/store.js'
import { TokenVerifier } from '../../services/resource/src/tokens/verifier.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 1)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })

const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
const claims = { iss: 'http://localhost:3001', aud: 'ratchet-api', sub: 'u', sid: 's', jti: 'j', client_id: 'first-party', scope: 'notes:read notes:write', auth_time: Date.now() / 1000, iat: Math.floor(Date.now() / 1000) }
const token = createSigner({ key: privatePem, algorithm: 'ES256', kid: 'k1', expiresIn: 900_000, header: { alg: 'ES256', typ: 'at+jwt' } })(claims)
const checks = { algorithms: ['ES256' as const], allowedIss: claims.iss, allowedAud: claims.aud, checkTyp: 'at+jwt' }

const signing = { algorithm: 'ES256' as const, kid: 'k1', header: { alg: 'ES256', typ: 'at+jwt' } }
const direct = createVerifier({ key: publicPem, ...checks })
const directSigner = createSigner({ key: privatePem, ...signing })
const app = Fastify({ logger: false })
await app.register(fastifyJwt, { secret: { private: privatePem, public: publicPem }, verify: checks, sign: signing })
await app.ready()
// registered without a namespace; the namespaced type comes from the auth service's
// plugins/jwt.ts, which bench/refs/bearer-verify.ts compiles in beside this file
const jwt = app.jwt as unknown as JWT

const key = importJwk({ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }) as VerificationKey
const keys = { get: () => key, size: 1 } as unknown as KeyStore
const resource = new TokenVerifier({ keys, issuer: claims.iss, audience: claims.aud, leeway: 0, cacheSize: 0, relativeMs: (d) => d * 1000 })

const verifications: Record<string, () => unknown> = {
  direct: () => direct(token),
  resource: () => resource.verify(token),
  'per-call': () => jwt.verify(token, { key: publicPem, ...checks }),
  static: () => jwt.verify(token)
}
const signatures: Record<string, () => unknown> = {
  direct: () => directSigner(claims),
  'per-call': () => jwt.sign(claims, { key: privatePem, ...signing }),
  static: () => jwt.sign(claims)
}

function rate (fn: () => unknown, ms: number): number {
  const end = performance.now() + ms
  let n = 0
  while (performance.now() < end) { for (let i = 0; i < 20; i++) fn(); n += 20 }
  return n / (ms / 1000)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function compare (what: string, candidates: Record<string, () => unknown>): void {
  for (const fn of Object.values(candidates)) rate(fn, 300) // warm-up
  const results: Record<string, number[]> = Object.fromEntries(Object.keys(candidates).map((k) => [k, []]))
  for (let r = 0; r < rounds; r++) for (const [name, fn] of Object.entries(candidates)) results[name]!.push(rate(fn, seconds * 1000))
  const base = median(results.direct!)
  for (const [name, xs] of Object.entries(results)) console.log(`${name.padEnd(8)} ${Math.round(median(xs)).toString().padStart(7)} ${what}/s  (${(median(xs) / base).toFixed(2)}x direct)`)
}

compare('verifications', verifications)
compare('signatures', signatures)
await app.close()
