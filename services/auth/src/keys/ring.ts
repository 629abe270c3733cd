import type { JsonWebKey } from 'node:crypto'
import type { AccessTokenAlg } from '@ratchet/shared'
import { publicJwk, publicPem, privatePem, type AccessKey, type KeySet, type RefreshKey } from './jwk.js'

/**
 * A read-only view of a key set at one moment: which key signs now, which keys
 * verify, and what the JWKS publishes.
 */
export interface KeyRing {
  readonly set: KeySet
  signingKey: AccessKey
  refreshKey: RefreshKey
  accessKey: (kid: string) => { key: AccessKey, publicPem: string } | undefined
  refreshSecret: (kid: string) => Buffer | undefined
  signingPem: () => string
  jwks: () => { keys: JsonWebKey[] }
}

/** The newest key of `alg` allowed to sign at `now`, if any. */
export function activeAccessKey (set: KeySet, alg: AccessTokenAlg, now: number): AccessKey | undefined {
  let best: AccessKey | undefined
  for (const k of set.access) {
    if (k.alg === alg && k.notBefore <= now && (best === undefined || k.notBefore > best.notBefore)) best = k
  }
  return best
}

/**
 * A key stays published while tokens it signed may live: until the key that
 * replaced it has signed for one access-token lifetime plus leeway.
 */
export function publishedAccessKeys (set: KeySet, now: number, retainMs: number): AccessKey[] {
  const activations = set.access.map((k) => k.notBefore).sort((a, b) => a - b)
  return set.access.filter((k) => {
    const replacedAt = activations.find((t) => t > k.notBefore && t <= now)
    return replacedAt === undefined || replacedAt + retainMs > now
  })
}

export function createKeyRing (set: KeySet, alg: AccessTokenAlg, now: number, retainMs: number): KeyRing {
  const signingKey = activeAccessKey(set, alg, now)
  if (signingKey === undefined) throw new Error(`no ${alg} signing key is active`)
  const refreshKey = set.refresh.reduce<RefreshKey | undefined>((a, k) => (a === undefined || k.createdAt > a.createdAt ? k : a), undefined)
  if (refreshKey === undefined) throw new Error('no refresh-token key')
  const published = publishedAccessKeys(set, now, retainMs)
  const verifiers = new Map(published.map((k) => [k.kid, { key: k, publicPem: publicPem(k) }]))
  const secrets = new Map(set.refresh.map((k) => [k.kid, Buffer.from(k.secret, 'base64url')]))
  const jwks = { keys: published.map(publicJwk) }
  let signing: string | undefined
  return {
    set,
    signingKey,
    refreshKey,
    accessKey: (kid) => verifiers.get(kid),
    refreshSecret: (kid) => secrets.get(kid),
    signingPem: () => (signing ??= privatePem(signingKey)),
    jwks: () => jwks
  }
}
