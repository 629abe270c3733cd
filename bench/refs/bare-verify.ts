/**
 * The composed bound of scenario 1b as a server rather than a sum: the bare Fastify
 * route, plus one ES256 verification of the bearer token's signature on every request
 * (node:crypto, one-shot, the JWKS key), and nothing else: no claims, no cache, no
 * revocations. `1 / (1/bare + 1/verify)` assumes a slower server pays the same per
 * request for its HTTP as the bare route; on these virtual machines it does not (the
 * report says why), so this is what one verification per request really allows.
 */
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto'
import Fastify from 'fastify'
import { tell } from '../lib/proc.js'

const body: unknown = JSON.parse(process.env.BENCH_BODY ?? '{}')
const key = { key: createPublicKey({ key: JSON.parse(process.env.BENCH_JWK ?? '{}') as JsonWebKey, format: 'jwk' }), dsaEncoding: 'ieee-p1363' as const }
const app = Fastify({ logger: false })
app.get('/v1/me', async (request, reply) => {
  const token = (request.headers.authorization ?? '').slice(7)
  const dot = token.lastIndexOf('.')
  if (!verify('sha256', Buffer.from(token.slice(0, dot), 'latin1'), key, Buffer.from(token.slice(dot + 1), 'base64url'))) return reply.code(401).send({ error: 'invalid_token' })
  return body
})
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
const addr = app.server.address()
tell('ready', { port: typeof addr === 'object' && addr !== null ? addr.port : 0 })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
