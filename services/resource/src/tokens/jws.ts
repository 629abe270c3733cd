import { ACCESS_TOKEN_ALGS, ACCESS_TOKEN_TYP, BoundedMemo } from '@ratchet/shared'
import { invalidToken } from '@ratchet/fastify'

/** What the JOSE header of an access token says, once checked. `jku`, `x5u`, `jwk`, `x5c` are never looked at. */
export interface AccessTokenHeader {
  alg: string
  kid: string
  /** the header has a `crit` member: refused once the signature is checked */
  crit: boolean
}

/** A compact JWS split once, its header checked; payload and signature still encoded. */
export interface SplitToken {
  header: AccessTokenHeader
  /** `header.payload`, the bytes the signature covers */
  signingInput: string
  payload: string
  signature: string
}

const ALGS: readonly string[] = ACCESS_TOKEN_ALGS
const B64URL = /^[A-Za-z0-9_-]*$/
// one header per signing key in practice
const headers = new BoundedMemo<string, AccessTokenHeader>(64)

export const MALFORMED = 'The access token is malformed'
export const BAD_SIGNATURE = 'The access token signature is invalid'

function parseHeader (segment: string): AccessTokenHeader {
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    throw invalidToken(MALFORMED)
  }
  if (segment === '' || header === null || typeof header !== 'object' || Array.isArray(header)) throw invalidToken(MALFORMED)
  const h = header as Record<string, unknown>
  // RFC 9068 §4: typ must be at+jwt (the "application/" prefix is optional); this is what
  // keeps a refresh token (rt+jwt) or an ID token from being taken for an access token
  if (typeof h.typ !== 'string' || h.typ.toLowerCase().replace(/^application\//, '') !== ACCESS_TOKEN_TYP) {
    throw invalidToken(`The token is not an access token (typ must be ${ACCESS_TOKEN_TYP})`)
  }
  if (typeof h.alg !== 'string' || !ALGS.includes(h.alg)) throw invalidToken('The access token algorithm is not accepted')
  // kid is only a lookup key into the JWKS, never a path, URL or anything interpreted
  if (typeof h.kid !== 'string' || h.kid === '') throw invalidToken('The access token names no key (kid)')
  // RFC 7515 §4.1.11: we understand no extension, so any crit makes the token unusable
  return { alg: h.alg, kid: h.kid, crit: 'crit' in h }
}

/**
 * Splits a compact JWS once and checks its header enough to choose a key (typ, alg,
 * kid). The header of every token one key signs is the same string, so its parsed
 * form is kept (a few entries) and a new token costs a Map lookup for its header.
 */
export function splitToken (token: string): SplitToken {
  // first and last dot, as fast-jwt's decoder did: a fourth segment lands in the payload,
  // which then fails the alphabet check as malformed
  const first = token.indexOf('.')
  const second = first === -1 ? -1 : token.lastIndexOf('.')
  const segment = first === -1 ? token : token.slice(0, first)
  const header = headers.get(segment) ?? headers.set(segment, parseHeader(segment))
  if (second === first) throw invalidToken(MALFORMED)
  return { header, signingInput: token.slice(0, second), payload: token.slice(first + 1, second), signature: token.slice(second + 1) }
}

/**
 * The segments' alphabet (RFC 7515 §2, no padding), checked once a key is chosen, as
 * fast-jwt's decoder did: Buffer's base64url decoding would skip what is not in it.
 */
export function checkSegments (token: SplitToken): void {
  if (!B64URL.test(token.signingInput.slice(0, token.signingInput.length - token.payload.length - 1)) || !B64URL.test(token.payload)) throw invalidToken(MALFORMED)
  if (!B64URL.test(token.signature)) throw invalidToken(BAD_SIGNATURE)
}

/** The payload of a split token, a JSON object (RFC 7519 §7.2 step 10). */
export function decodePayload (payload: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    throw invalidToken(MALFORMED)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidToken(MALFORMED)
  return value as Record<string, unknown>
}
