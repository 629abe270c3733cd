import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance } from 'fastify'
import type { KeyRing } from '../keys/ring.js'

declare module '@fastify/jwt' {
  interface FastifyJWT { namespaces: 'access' }
}

/**
 * @fastify/jwt's `app.jwt.access`: what verifies access tokens at the service's own
 * Bearer routes (tokens/jwt.ts names the key on each call, as the ring rotates; the
 * key given here is the one current at boot, which @fastify/jwt requires to register).
 * Verify-only: tokens are signed by keys/signer.ts, and refresh tokens verified by
 * verifiers kept per key, both on the refresh hot path (README, "How tokens are signed
 * and verified").
 */
async function jwtPlugin (app: FastifyInstance, { ring }: { ring: () => KeyRing }) {
  const r = ring()
  const access = r.accessKey(r.signingKey.kid)
  if (access === undefined) throw new Error('the current signing key is not on the key ring')
  await app.register(fastifyJwt, { namespace: 'access', secret: { public: access.publicPem } })
}

export default fp(jwtPlugin, { name: 'ratchet-jwt', fastify: '5.x' })
