import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto'
import type { AccessTokenAlg } from '@ratchet/shared'

/** One asymmetric access-token signing key, as stored in the key set. */
export interface AccessKey {
  kid: string
  alg: AccessTokenAlg
  privateJwk: JsonWebKey
  /** ms: when the key was made, and from when it may sign (published before that). */
  createdAt: number
  notBefore: number
}

/** One HMAC key for refresh tokens, which only the auth service reads. */
export interface RefreshKey {
  kid: string
  /** base64url, 256 bits */
  secret: string
  createdAt: number
}

export interface KeySet {
  access: AccessKey[]
  refresh: RefreshKey[]
}

const publicMembers: Record<string, string[]> = { EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'], RSA: ['e', 'kty', 'n'] }

/** RFC 7638 thumbprint: a kid that names the key itself, so two instances never disagree on it. */
export function thumbprint (jwk: JsonWebKey): string {
  const members = publicMembers[jwk.kty ?? ''] ?? []
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])))
  return createHash('sha256').update(canonical).digest('base64url')
}

function generatePair (alg: AccessTokenAlg): KeyObject {
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519').privateKey
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
}

export function generateAccessKey (alg: AccessTokenAlg, now: number, notBefore = now): AccessKey {
  const privateJwk = generatePair(alg).export({ format: 'jwk' })
  return { kid: thumbprint(privateJwk), alg, privateJwk, createdAt: now, notBefore }
}

export function generateRefreshKey (now: number): RefreshKey {
  const secret = randomBytes(32).toString('base64url')
  return { kid: 'rt-' + createHash('sha256').update(secret).digest('base64url').slice(0, 16), secret, createdAt: now }
}

export function privatePem (key: AccessKey): string {
  return createPrivateKey({ key: key.privateJwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }).toString()
}

export function publicPem (key: AccessKey): string {
  return createPublicKey({ key: key.privateJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
}

/** The public half as a JWKS entry: private members never leave this function. */
export function publicJwk (key: AccessKey): JsonWebKey {
  const members = publicMembers[key.privateJwk.kty ?? ''] ?? []
  const jwk: JsonWebKey = Object.fromEntries(members.map((m) => [m, key.privateJwk[m]]))
  return { ...jwk, kid: key.kid, alg: key.alg, use: 'sig' }
}

/** Checks the shape of a key set read from a file or from Redis; throws a message naming the fault. */
export function parseKeySet (text: string, source: string): KeySet {
  let value: unknown
  try { value = JSON.parse(text) } catch { throw new Error(`${source}: not JSON`) }
  const set = value as Partial<KeySet> | null
  if (set === null || typeof set !== 'object' || !Array.isArray(set.access) || !Array.isArray(set.refresh)) {
    throw new Error(`${source}: expected {"access": [...], "refresh": [...]}`)
  }
  for (const k of set.access) {
    if (typeof k.kid !== 'string' || !['ES256', 'EdDSA', 'PS256'].includes(k.alg) || typeof k.privateJwk !== 'object' || typeof k.privateJwk.d !== 'string') {
      throw new Error(`${source}: an access key lacks kid, alg or a private JWK`)
    }
    k.createdAt ??= 0
    k.notBefore ??= k.createdAt
  }
  for (const k of set.refresh) {
    if (typeof k.kid !== 'string' || typeof k.secret !== 'string' || Buffer.from(k.secret, 'base64url').length < 32) {
      throw new Error(`${source}: a refresh key lacks kid or a 256-bit secret`)
    }
    k.createdAt ??= 0
  }
  return set as KeySet
}
