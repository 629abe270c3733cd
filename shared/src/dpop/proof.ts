import { createHash, type KeyObject } from 'node:crypto'
import { DPOP_ALGORITHMS, importProofKey, type DpopAlgorithm } from './algs.js'
import { invalidProof, DpopProofError } from './errors.js'
import { BoundedMemo } from '../bounded-memo.js'
import { normaliseHtu } from './htu.js'
import { accessTokenHash, jwkThumbprint } from './thumbprint.js'

/** JOSE `typ` of a proof (RFC 9449 §4.2). // wire contract */
export const DPOP_PROOF_TYP = 'dpop+jwt'

export interface DpopVerifierOptions {
  /** the accepted algorithms (DPOP_ALGS) */
  algs: readonly string[]
  /** seconds a proof is accepted after its `iat` (DPOP_PROOF_MAX_AGE) */
  maxAge: number
  /** seconds of clock skew allowed either way (CLOCK_LEEWAY) */
  leeway: number
  /** distinct proof headers (keys) whose parsed form is kept; one per client key in use */
  keyCacheSize?: number
}

/** What one request presents to be checked. */
export interface ProofRequest {
  /** the `DPoP` header as received */
  proof: string | string[] | undefined
  /** the request method, as `htm` must name it */
  method: string
  /** the URL the request was made to (see requestHtu); query and fragment are ignored */
  url: string
  /** the access token sent with it: `ath` must be its hash (RFC 9449 §4.3 check 12) */
  accessToken?: string | undefined
  /** accessTokenHash(accessToken), when the caller keeps it with the token (the resource's cache): not hashed again */
  accessTokenHash?: string | undefined
  /** the thumbprint the token or session is bound to: the proof must be signed by that key */
  boundTo?: string | undefined
  /** when server nonces are on: whether the proof's `nonce` is a current one */
  acceptsNonce?: ((nonce: unknown) => boolean) | undefined
  /** ms since the epoch */
  now: number
}

/** A proof that passed every stateless check; its `replayKey` must still be remembered once. */
export interface VerifiedProof {
  /** RFC 7638 thumbprint of the proof's key (the `cnf.jkt` to bind to) */
  jkt: string
  jti: string
  /** NumericDate */
  iat: number
  /** names this proof in a replay cache: the jti, scoped by the key so no client can burn another's */
  replayKey: string
  /** when the proof stops being accepted anyway: the replay cache forgets it then (ms) */
  expiresAtMs: number
}

interface ParsedHeader { alg: DpopAlgorithm, key: KeyObject, jkt: string }

const B64URL = /^[A-Za-z0-9_-]+$/
const MAX_PROOF_LENGTH = 8192
const MAX_JTI_LENGTH = 256

function decodeJson (segment: string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    throw invalidProof(`the proof ${what} is not base64url-encoded JSON`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidProof(`the proof ${what} is not a JSON object`)
  return value as Record<string, unknown>
}

/**
 * The checks of RFC 9449 §4.3, all but the replay one (which needs a store: see
 * ReplayCache). Synchronous and allocation-light, since the resource service runs it on
 * every request: the parsed header (key import and thumbprint) is kept per distinct
 * header, which is the same for every proof of one key.
 */
export function createDpopVerifier (opts: DpopVerifierOptions) {
  for (const a of opts.algs) if (DPOP_ALGORITHMS[a] === undefined) throw new RangeError(`unsupported DPoP algorithm ${a}`)
  const algs = new Set(opts.algs)
  const maxAgeMs = opts.maxAge * 1000
  const leewayMs = opts.leeway * 1000
  const headers = new BoundedMemo<string, ParsedHeader>(opts.keyCacheSize ?? 1000)

  function parseHeader (segment: string): ParsedHeader {
    const cached = headers.get(segment)
    if (cached !== undefined) return cached
    const h = decodeJson(segment, 'header')
    if (typeof h.typ !== 'string' || h.typ.toLowerCase().replace(/^application\//, '') !== DPOP_PROOF_TYP) throw invalidProof(`the proof typ must be ${DPOP_PROOF_TYP}`)
    if (typeof h.alg !== 'string') throw invalidProof('the proof names no alg')
    // none and HS* are never in DPOP_ALGORITHMS, so no configuration can admit them
    if (!algs.has(h.alg) || DPOP_ALGORITHMS[h.alg] === undefined) throw invalidProof(`the proof alg ${h.alg === 'none' ? 'none' : h.alg.slice(0, 20)} is not accepted (use one of ${[...algs].join(' ')})`)
    // we understand no critical extension, so a proof that needs one cannot be checked (RFC 7515 §4.1.11)
    if ('crit' in h) throw invalidProof('the proof has a critical header we do not support')
    if (h.jwk === null || typeof h.jwk !== 'object' || Array.isArray(h.jwk)) throw invalidProof('the proof header must carry its public key as jwk')
    const alg = DPOP_ALGORITHMS[h.alg]!
    const jwk = h.jwk as Record<string, unknown>
    const key = importProofKey(alg, jwk)
    if (typeof key === 'string') throw invalidProof(key)
    return headers.set(segment, { alg, key, jkt: jwkThumbprint(jwk) })
  }

  return {
    algs: [...algs],
    /** Runs every stateless check; throws a DpopProofError naming the first that fails. */
    verify (req: ProofRequest): VerifiedProof {
      const proof = req.proof
      if (proof === undefined || proof === '') throw invalidProof('a DPoP proof is required')
      // Node joins repeated headers with ", ", which no JWT contains (§4.3 check 1)
      if (typeof proof !== 'string' || proof.includes(',')) throw invalidProof('send exactly one DPoP header')
      if (proof.length > MAX_PROOF_LENGTH) throw invalidProof('the proof is too long')
      const parts = proof.split('.')
      // an empty signature is let through to the header check, so alg none is named as such
      if (parts.length !== 3 || !B64URL.test(parts[0]!) || !B64URL.test(parts[1]!) || !(parts[2] === '' || B64URL.test(parts[2]!))) throw invalidProof('the proof is not a compact JWS (three base64url parts)')
      const [h, p, s] = parts as [string, string, string]
      const header = parseHeader(h)
      if (!header.alg.check(Buffer.from(`${h}.${p}`, 'ascii'), header.key, Buffer.from(s, 'base64url'))) throw invalidProof('the proof signature does not verify with its jwk')
      const claims = decodeJson(p, 'payload')
      const { jti, htm, htu, iat } = claims
      if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw invalidProof(`the proof needs a jti of 1 to ${MAX_JTI_LENGTH} characters`)
      if (typeof htm !== 'string') throw invalidProof('the proof needs an htm claim')
      if (typeof htu !== 'string') throw invalidProof('the proof needs an htu claim')
      if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidProof('the proof needs a numeric iat claim')
      if (htm !== req.method) throw invalidProof(`the proof htm does not match the request method ${req.method}`)
      const expected = normaliseHtu(req.url)
      if (expected === undefined || normaliseHtu(htu) !== expected) throw invalidProof(`the proof htu does not match the request URL ${expected ?? ''}`)
      const iatMs = iat * 1000
      if (iatMs > req.now + leewayMs) throw invalidProof('the proof iat is in the future')
      if (iatMs < req.now - maxAgeMs - leewayMs) throw invalidProof(`the proof is older than ${opts.maxAge} seconds (iat)`)
      if (req.acceptsNonce !== undefined && !req.acceptsNonce(claims.nonce)) {
        throw new DpopProofError('use_dpop_nonce', claims.nonce === undefined ? 'the proof needs the server nonce (DPoP-Nonce)' : 'the proof nonce is not a current one: use the DPoP-Nonce sent with this answer')
      }
      if (req.accessToken !== undefined && claims.ath !== (req.accessTokenHash ?? accessTokenHash(req.accessToken))) {
        throw invalidProof(claims.ath === undefined ? 'the proof needs an ath claim (the access token hash)' : 'the proof ath does not match the access token')
      }
      if (req.boundTo !== undefined && req.boundTo !== header.jkt) throw invalidProof('the proof is signed by another key than the one the token is bound to')
      return {
        jkt: header.jkt,
        jti,
        iat,
        replayKey: createHash('sha256').update(`${header.jkt}.${jti}`).digest('base64url').slice(0, 27),
        expiresAtMs: iatMs + maxAgeMs + leewayMs
      }
    }
  }
}

export type DpopVerifier = ReturnType<typeof createDpopVerifier>
