import type { FastifyRequest } from 'fastify'
import { createDpopVerifier, dpopChallenge, DpopProofError, errors, MemoryReplayCache, parseBearerChallenge, requestHtu } from '@ratchet/shared'
import { REALM, type BearerFailure } from '@ratchet/fastify'

export interface ResourceDpopOptions {
  algs: readonly string[]
  /** seconds (DPOP_PROOF_MAX_AGE) */
  maxAge: number
  /** seconds (CLOCK_LEEWAY) */
  leeway: number
  /** PUBLIC_URL: the base the proofs' htu names behind a proxy; '' for the URL as received */
  publicUrl: string
  replayCacheSize: number
  now?: () => number
}

/** error_description when a DPoP-bound token comes as Bearer (RFC 9449 §7.2). // wire contract */
export const BOUND_AS_BEARER_DESCRIPTION = 'The access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof'

/**
 * DPoP at the resource service (RFC 9449 §7): the token's signature is checked (and
 * cached) by the TokenVerifier; the proof is checked here on every request, and its
 * jti remembered in this instance's memory until the proof could not pass anyway.
 */
export function createResourceDpop (opts: ResourceDpopOptions) {
  const verifier = createDpopVerifier({ algs: opts.algs, maxAge: opts.maxAge, leeway: opts.leeway })
  const replay = new MemoryReplayCache(opts.replayCacheSize)
  const now = opts.now ?? Date.now
  const algs = verifier.algs

  function challenged (err: Error, error: 'invalid_dpop_proof' | 'use_dpop_nonce' | 'invalid_token', description: string): BearerFailure {
    return Object.assign(err, { challenge: dpopChallenge({ realm: REALM, algs, error, description }) }) as BearerFailure
  }

  function proofFailure (description: string): BearerFailure {
    return challenged(new errors.RATCHET_INVALID_DPOP_PROOF(description), 'invalid_dpop_proof', description)
  }

  return {
    algs,

    /** Checks the request's proof for `token`, bound to `jkt` (`ath`: the token's hash); the failure to answer with, or undefined. */
    check (request: FastifyRequest, token: string, jkt: string, ath: string | undefined): BearerFailure | undefined {
      const nowMs = now()
      let proof
      try {
        proof = verifier.verify({
          proof: request.headers.dpop,
          method: request.method,
          url: requestHtu({ publicUrl: opts.publicUrl, protocol: request.protocol, host: request.host, path: request.url }),
          accessToken: token,
          accessTokenHash: ath,
          boundTo: jkt,
          now: nowMs
        })
      } catch (err) {
        if (err instanceof DpopProofError) return proofFailure(err.message)
        throw err
      }
      if (!replay.remember(proof.replayKey, proof.expiresAtMs, nowMs)) return proofFailure('the proof was used before (jti replayed)')
      return undefined
    },

    /** A bound token sent as Bearer: refused, as its proof of possession is missing (§7.2). */
    boundAsBearer (): BearerFailure {
      return challenged(new errors.RATCHET_INVALID_ACCESS_TOKEN(BOUND_AS_BEARER_DESCRIPTION), 'invalid_token', BOUND_AS_BEARER_DESCRIPTION)
    },

    /** An unbound token under the DPoP scheme: nothing to check a proof against. */
    unboundAsDpop (): BearerFailure {
      const description = 'The access token is not DPoP-bound: send it as Authorization: Bearer'
      return challenged(new errors.RATCHET_INVALID_ACCESS_TOKEN(description), 'invalid_token', description)
    },

    /** The same failure, challenged in the DPoP scheme, for a request that used it (§7.1). */
    asDpop (err: Error): Error {
      const c = (err as Partial<BearerFailure>).challenge
      if (c === undefined || !/^bearer\b/i.test(c)) return err
      const p = parseBearerChallenge(c) ?? {}
      const error = p.error as 'invalid_token' | 'invalid_request' | 'insufficient_scope' | undefined
      return Object.assign(err, { challenge: dpopChallenge({ realm: REALM, algs, ...(error !== undefined ? { error } : {}), ...(p.error_description !== undefined ? { description: p.error_description } : {}), ...(p.scope !== undefined ? { scope: p.scope } : {}) }) })
    }
  }
}

export type ResourceDpop = ReturnType<typeof createResourceDpop>

/**
 * Reads `Authorization: DPoP <token>` (RFC 9449 §7.1; the scheme is case-insensitive):
 * undefined for another scheme, a reason string when the token is missing. The token's
 * syntax is left to `isB64Token`, as for Bearer, so a cached token skips the regex.
 */
export function readDpopAuthorization (header: string | undefined): { token: string } | { malformed: string } | undefined {
  if (header === undefined || header.length < 4 || header.slice(0, 4).toLowerCase() !== 'dpop' || (header.length > 4 && header.charCodeAt(4) !== 32)) return undefined
  const token = header.slice(4).trim()
  if (token === '') return { malformed: 'the DPoP scheme needs a token' }
  return { token }
}
