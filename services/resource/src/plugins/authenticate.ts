import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify'
import { errors } from '@ratchet/shared'
import { TokenVerifier, type VerifiedToken } from '../tokens/verifier.js'
import { insufficientScope, isB64Token, malformedHeader, missingCredentials, readBearer, revokedToken } from '@ratchet/fastify'
import { createResourceDpop, readDpopAuthorization, type ResourceDpopOptions } from '../tokens/dpop.js'

declare module 'fastify' {
  interface FastifyInstance {
    verifier: TokenVerifier
    /** An onRequest hook that admits a valid, unrevoked access token holding `scope` (when given). */
    requireToken: (scope?: string) => onRequestHookHandler
  }
  interface FastifyRequest { token: VerifiedToken | null }
}

export interface AuthenticatePluginOptions {
  /** ISSUER: the only accepted iss */
  issuer: string
  /** AUDIENCE: aud must hold it */
  audience: string
  /** seconds */
  leeway: number
  cacheSize: number
  dpop: Omit<ResourceDpopOptions, 'leeway'>
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
    issuer: opts.issuer,
    audience: opts.audience,
    leeway: opts.leeway,
    cacheSize: opts.cacheSize,
    relativeMs: (d) => revocations.relativeMs(d)
  })
  app.decorate('verifier', verifier)
  app.decorateRequest('token', null)

  const dpop = createResourceDpop({ ...opts.dpop, leeway: opts.leeway })

  function requireToken (scope?: string): onRequestHookHandler {
    function accept (request: FastifyRequest, t: VerifiedToken, token: string, asDpop: boolean, done: (err?: Error) => void): void {
      // the scheme must match the binding: a bound token is worthless without its key
      // (RFC 9449 §7.2), and an unbound one has no key to prove
      if (t.jkt !== undefined) {
        if (!asDpop) return done(dpop.boundAsBearer())
        // the token's verification may come from the cache; the proof never does
        const failure = dpop.check(request, token, t.jkt, t.ath)
        if (failure !== undefined) return done(failure)
      } else if (asDpop) return done(dpop.unboundAsDpop())
      // checked on every request, cache hit or not: a logout applies at once
      if (revocations.isRevoked(t.sid, t.sub, t.authTimeRel)) return done(revokedToken())
      if (scope !== undefined && !t.scopes.includes(scope)) return done(insufficientScope(scope))
      request.token = t
      done()
    }

    return function authenticate (request, _reply, next) {
      let creds = readBearer(request.headers.authorization)
      let asDpop = false
      let done = next
      if (creds.kind === 'none') {
        const d = readDpopAuthorization(request.headers.authorization)
        if (d !== undefined) {
          asDpop = true
          // a failure answers in the scheme the client used (RFC 9449 §7.1)
          done = (err?: Error) => next(err === undefined ? undefined : dpop.asDpop(err))
          creds = 'token' in d ? { kind: 'token', token: d.token } : { kind: 'malformed', reason: d.malformed }
        }
      }
      if (creds.kind === 'none') return done(missingCredentials())
      if (creds.kind === 'malformed') return done(malformedHeader(creds.reason))
      const token = creds.token
      // until the replay is done we cannot know which sessions were revoked: fail closed
      if (!follower.caughtUp) return done(new errors.RATCHET_NOT_READY('revocations are still being replayed'))
      const hit = verifier.cached(token, Date.now())
      if (hit !== undefined) return accept(request, hit, token, asDpop, done)
      if (!isB64Token(token)) return done(malformedHeader(`the ${asDpop ? 'DPoP' : 'bearer'} token has characters a token cannot have`))
      let result: VerifiedToken | Promise<VerifiedToken>
      try {
        result = verifier.verify(token)
      } catch (err) {
        return done(err as Error)
      }
      if (result instanceof Promise) result.then((t) => accept(request, t, token, asDpop, done), (err: Error) => done(err))
      else accept(request, result, token, asDpop, done)
    }
  }

  app.decorate('requireToken', requireToken)
}

export default fp(authenticatePlugin, { name: 'authenticate', fastify: '5.x', dependencies: ['keys', 'revocations'] })
