import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance } from 'fastify'
import type { KeyRing } from '../keys/ring.js'

declare module '@fastify/jwt' {
  interface FastifyJWT { namespaces: 'access' | 'refresh' }
}

/**
 * @fastify/jwt, one namespace per token kind: `app.jwt.access` (the ring's
 * asymmetric keys) and `app.jwt.refresh` (its HMAC keys). Keys rotate, so
 * tokens/jwt.ts names the key on every call; the keys given here are the
 * ones current at boot, which @fastify/jwt requires to register. `access`
 * only verifies: access tokens are signed by keys/signer.ts (README).
 */
async function jwtPlugin (app: FastifyInstance, { ring }: { ring: () => KeyRing }) {
  const r = ring()
  const access = r.accessKey(r.signingKey.kid)
  const refresh = r.refreshSecret(r.refreshKey.kid)
  if (access === undefined || refresh === undefined) throw new Error('the current keys are not on the key ring')
  await app.register(fastifyJwt, { namespace: 'access', secret: { public: access.publicPem } })
  await app.register(fastifyJwt, { namespace: 'refresh', secret: refresh })
}

export default fp(jwtPlugin, { name: 'ratchet-jwt', fastify: '5.x' })
