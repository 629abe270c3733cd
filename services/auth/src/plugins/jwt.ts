import fp from 'fastify-plugin'
import fastifyJwt, { type JwtVerifyFunction, type TokenOrHeader } from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { requireBearer } from '@ratchet/fastify'
import type { KeyRing } from '../keys/ring.js'
import { accessVerifierOptions, JwtError, noKid, unknownKey, type JwtOptions } from '../tokens/jwt.js'

declare module '@fastify/jwt' {
  interface FastifyJWT { namespaces: 'access' | 'accessAnyExpiry' }
}

declare module 'fastify' {
  interface FastifyRequest {
    accessJwtVerify: JwtVerifyFunction
    accessAnyExpiryJwtVerify: JwtVerifyFunction
  }
}

const DPOP_SCHEME = /^dpop +([A-Za-z0-9\-._~+/]+=*)\s*$/i

/**
 * The access token in an Authorization header, as `Bearer` or as `DPoP` (RFC 9449 §7);
 * a missing or malformed header is the 401 or 400 `requireBearer` gives.
 */
export function presentedAccessToken (header: string | undefined): { token: string, asDpop: boolean } {
  const asDpop = header !== undefined ? DPOP_SCHEME.exec(header) : null
  return asDpop !== null ? { token: asDpop[1]!, asDpop: true } : { token: requireBearer(header), asDpop: false }
}

/**
 * @fastify/jwt verifies the caller's access token at the service's own Bearer routes:
 * `request.accessJwtVerify()`, and `request.accessAnyExpiryJwtVerify()` for logout,
 * which an expired token may still do. The key is looked up by the token's kid on the
 * ring as it is now, and must be of the token's alg. Told nothing per call, @fastify/jwt
 * keeps one verifier per key it is handed (its validatorCache, by PEM: an entry per key
 * the service has ever verified with, a few a year), where told the key per call it
 * built a verifier and imported the key every time (README, "How tokens are signed and
 * verified"). Tokens are signed by keys/signer.ts; refresh tokens, and access tokens
 * that come in a body, are verified by tokens/jwt.ts.
 */
async function jwtPlugin (app: FastifyInstance, { ring, options }: { ring: () => KeyRing, options: JwtOptions }) {
  // decode: { complete: true } below hands this the whole token, header and payload
  const publicKeyFor = (_request: FastifyRequest, decoded: TokenOrHeader, done: (err: Error | null, key: string | undefined) => void) => {
    const { kid, alg } = 'header' in decoded ? decoded.header : decoded
    if (typeof kid !== 'string') return done(noKid(), undefined)
    const k = ring().accessKey(kid)
    if (k === undefined) return done(unknownKey(), undefined)
    // the key's own algorithm only, as a verifier built for one key is told
    if (alg !== k.key.alg) return done(new JwtError('signature', 'the token is not signed with its key\'s algorithm'), undefined)
    done(null, k.publicPem)
  }
  for (const [namespace, ignoreExpiration] of [['access', false], ['accessAnyExpiry', true]] as const) {
    await app.register(fastifyJwt, {
      namespace,
      secret: { public: publicKeyFor },
      decode: { complete: true },
      verify: { ...accessVerifierOptions(options, ignoreExpiration), extractToken: (request) => presentedAccessToken(request.headers.authorization).token },
      // fast-jwt's message is kept: tokens/jwt.ts tells a bad signature from a bad claim by it
      messages: { authorizationTokenInvalid: (err: Error) => err.message }
    })
  }
}

export default fp(jwtPlugin, { name: 'ratchet-jwt', fastify: '5.x' })
