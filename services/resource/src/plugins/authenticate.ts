import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify'
import { errors } from '@ratchet/shared'
import { TokenVerifier, type VerifiedToken } from '../tokens/verifier.js'
import { insufficientScope, isB64Token, malformedHeader, missingCredentials, readBearer, revokedToken } from '@ratchet/fastify'

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenVerifier
    /** An onRequest hook that admits a valid, unrevoked access token holding `scope` (when given). */
    requireToken: (scope?: string) => onRequestHookHandler
  }
  interface FastifyRequest { token: VerifiedToken | null }
}

export interface AuthenticatePluginOptions {
  /** seconds */
  leeway: number
  cacheSize: number
}

/**
 * Bearer authentication for the routes that ask for it. This is the hot path, so the
 * hook is callback-style and synchronous whenever it can be: a cached token costs a
 * header split, one Map lookup, the revocation lookups and the scope check.
 */
async function authenticatePlugin (app: FastifyInstance, opts: AuthenticatePluginOptions) {
  const revocations = app.revocations
  const follower = app.revocationFollower
  const verifier = new TokenVerifier({
    keys: app.keys,
    leeway: opts.leeway,
    cacheSize: opts.cacheSize,
    relativeMs: (d) => revocations.relativeMs(d)
  })
  app.decorate('tokens', verifier)
  app.decorateRequest('token', null)

  function requireToken (scope?: string): onRequestHookHandler {
    function accept (request: FastifyRequest, t: VerifiedToken, done: (err?: Error) => void): void {
      // checked on every request, cache hit or not: a logout applies at once
      if (revocations.isRevoked(t.sid, t.sub, t.authTimeRel)) return done(revokedToken())
      if (scope !== undefined && !t.scopes.includes(scope)) return done(insufficientScope(scope))
      request.token = t
      done()
    }

    return function authenticate (request, _reply, done) {
      const creds = readBearer(request.headers.authorization)
      if (creds.kind === 'none') return done(missingCredentials())
      if (creds.kind === 'malformed') return done(malformedHeader(creds.reason))
      // until the replay is done we cannot know which sessions were revoked: fail closed
      if (!follower.caughtUp) return done(new errors.RATCHET_NOT_READY('revocations are still being replayed'))
      const hit = verifier.cached(creds.token, Date.now())
      if (hit !== undefined) return accept(request, hit, done)
      if (!isB64Token(creds.token)) return done(malformedHeader('the bearer token has characters a token cannot have'))
      let result: VerifiedToken | Promise<VerifiedToken>
      try {
        result = verifier.verify(creds.token)
      } catch (err) {
        return done(err as Error)
      }
      if (result instanceof Promise) result.then((t) => accept(request, t, done), (err: Error) => done(err))
      else accept(request, result, done)
    }
  }

  app.decorate('requireToken', requireToken)
}

export default fp(authenticatePlugin, { name: 'authenticate', fastify: '5.x', dependencies: ['keys', 'revocations'] })
