import { createHmac } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { createDpopVerifier, createNonceSource, DpopProofError, errors, requestHtu, type AuthConfig, type ReplayCache, type VerifiedProof } from '@ratchet/shared'

export interface AuthDpopDeps {
  config: Pick<AuthConfig, 'DPOP_ALGS' | 'DPOP_PROOF_MAX_AGE' | 'DPOP_NONCE' | 'DPOP_REQUIRED' | 'CLOCK_LEEWAY' | 'PUBLIC_URL' | 'ISSUER'>
  replay: ReplayCache
  /** a secret every auth instance shares, for the server nonces */
  nonceSecret: () => Buffer
  now: () => number
}

/** The DPoP-Nonce response header (RFC 9449 §8.1). // wire contract */
export const DPOP_NONCE_HEADER = 'dpop-nonce'

/**
 * DPoP at the auth service: proofs of token requests (RFC 9449 §5) and of requests
 * that present a bound access token to the auth service's own routes (§7). Every
 * proof is remembered in Redis, so no auth instance accepts one twice.
 */
export function createAuthDpop (deps: AuthDpopDeps) {
  const { config, replay, now } = deps
  const verifier = createDpopVerifier({ algs: config.DPOP_ALGS, maxAge: config.DPOP_PROOF_MAX_AGE, leeway: config.CLOCK_LEEWAY })
  const noncesOn = config.DPOP_NONCE === 'on'
  // derived per call: the secret follows the shared key set when it rotates
  const nonces = () => createNonceSource(deps.nonceSecret(), config.DPOP_PROOF_MAX_AGE)

  function htuOf (request: FastifyRequest): string {
    return requestHtu({ publicUrl: config.PUBLIC_URL, protocol: request.protocol, host: request.host, path: request.url })
  }

  /** Runs the checks; `status` is 400 at token requests (§5), 401 where a token is presented (§7.1). */
  async function check (request: FastifyRequest, status: 400 | 401, opts: { accessToken?: string, boundTo?: string, nonce: boolean }): Promise<VerifiedProof> {
    const nowMs = now()
    let proof: VerifiedProof
    try {
      const source = opts.nonce ? nonces() : undefined
      proof = verifier.verify({
        proof: request.headers.dpop,
        method: request.method,
        url: htuOf(request),
        accessToken: opts.accessToken,
        boundTo: opts.boundTo,
        acceptsNonce: source !== undefined ? (n) => source.accepts(n, nowMs) : undefined,
        now: nowMs
      })
    } catch (err) {
      if (!(err instanceof DpopProofError)) throw err
      if (err.oauthError === 'use_dpop_nonce') throw new errors.RATCHET_USE_DPOP_NONCE(err.message)
      throw Object.assign(new errors.RATCHET_INVALID_DPOP_PROOF(err.message), { statusCode: status })
    }
    if (!await replay.remember(proof.replayKey, proof.expiresAtMs, nowMs)) {
      throw Object.assign(new errors.RATCHET_INVALID_DPOP_PROOF('the proof was used before (jti replayed)'), { statusCode: status })
    }
    return proof
  }

  return {
    algs: verifier.algs,
    noncesOn,
    /** The nonce to hand out now, when nonces are on. */
    currentNonce: (): string | undefined => noncesOn ? nonces().current(now()) : undefined,

    /**
     * The proof of a token request (sign-up, login, refresh, password change,
     * /oauth/token): its key binds the session. Undefined when none was sent and
     * none is required (a Bearer session).
     */
    async forTokenRequest (request: FastifyRequest): Promise<VerifiedProof | undefined> {
      if (request.headers.dpop === undefined) {
        if (config.DPOP_REQUIRED === 'true') throw Object.assign(new errors.RATCHET_INVALID_DPOP_PROOF('this server issues DPoP-bound tokens only: send a DPoP proof'), { statusCode: 400 })
        return undefined
      }
      return check(request, 400, { nonce: noncesOn })
    },

    /** The proof that goes with a bound access token (`Authorization: DPoP`) at the auth service's own routes. */
    async forAccessToken (request: FastifyRequest, accessToken: string, jkt: string): Promise<VerifiedProof> {
      return check(request, 401, { accessToken, boundTo: jkt, nonce: false })
    }
  }
}

export type AuthDpop = ReturnType<typeof createAuthDpop>

/** The nonce secret, derived from the shared refresh-token key so every instance agrees on it. */
export function nonceSecretFrom (refreshSecret: Buffer): Buffer {
  return createHmac('sha256', refreshSecret).update('ratchet dpop nonce').digest()
}
