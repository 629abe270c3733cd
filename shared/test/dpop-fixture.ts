import { createHash, createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'

/** A proof-signing key for tests, with the wire form of its public half. */
export interface TestKey {
  alg: string
  privateKey: KeyObject
  jwk: Record<string, unknown>
}

export function testKey (alg: 'ES256' | 'EdDSA' | 'PS256' | 'ES384' = 'ES256'): TestKey {
  const pair = alg === 'EdDSA'
    ? generateKeyPairSync('ed25519')
    : alg === 'PS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: alg === 'ES384' ? 'P-384' : 'P-256' })
  const jwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>
  return { alg, privateKey: pair.privateKey, jwk }
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

export function ath (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export interface ProofOptions {
  htm?: string
  htu: string
  accessToken?: string
  nonce?: string
  /** seconds */
  iat?: number
  jti?: string
  /** replaces or adds header members (`undefined` removes one) */
  header?: Record<string, unknown>
  /** replaces or adds payload members (`undefined` removes one) */
  claims?: Record<string, unknown>
  /** sign with HMAC under this secret instead of the key (an attack) */
  hmacSecret?: string
  /** leave the signature empty (alg none) */
  unsigned?: boolean
}

/** Signs a DPoP proof by hand, so tests can also sign the proofs a server must refuse. */
export function proof (key: TestKey, o: ProofOptions): string {
  const header: Record<string, unknown> = { typ: 'dpop+jwt', alg: key.alg, jwk: key.jwk, ...o.header }
  const payload: Record<string, unknown> = {
    jti: o.jti ?? randomUUID(),
    htm: o.htm ?? 'POST',
    htu: o.htu,
    iat: o.iat ?? Math.floor(Date.now() / 1000),
    ...(o.accessToken !== undefined ? { ath: ath(o.accessToken) } : {}),
    ...(o.nonce !== undefined ? { nonce: o.nonce } : {}),
    ...o.claims
  }
  const input = `${b64(header)}.${b64(payload)}`
  if (o.unsigned === true) return `${input}.`
  if (o.hmacSecret !== undefined) return `${input}.${createHmac('sha256', o.hmacSecret).update(input).digest('base64url')}`
  const sig = key.alg === 'EdDSA'
    ? sign(null, Buffer.from(input), key.privateKey)
    : key.alg === 'PS256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, padding: 6, saltLength: 32 })
      : sign(key.alg === 'ES384' ? 'sha384' : 'sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${sig.toString('base64url')}`
}
