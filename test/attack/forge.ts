import { constants, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { call, startSystem, type System, testRedis, uniqueEmail } from '../support.js'

// Tools to forge tokens and send hostile requests: the attack corpus and the fuzz test share them.

type Test = { teardown: (fn: () => unknown) => void }

export type Json = Record<string, unknown>

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

/** `header.payload` as base64url JSON, the part a signature covers. */
export function signingInput (header: unknown, payload: unknown): string {
  return `${b64(header)}.${b64(payload)}`
}

export type AsymAlg = 'ES256' | 'PS256' | 'RS256' | 'EdDSA'

/** Signs honestly with any key: a forgery is made by changing what is signed or with which key. */
export function signAsym (alg: AsymAlg, key: KeyObject, header: Json, payload: Json): string {
  const input = signingInput(header, payload)
  const data = Buffer.from(input)
  const sig = alg === 'ES256'
    ? cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
    : alg === 'EdDSA'
      ? cryptoSign(null, data, key)
      : cryptoSign('sha256', data, { key, padding: alg === 'PS256' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING, ...(alg === 'PS256' ? { saltLength: 32 } : {}) })
  return `${input}.${sig.toString('base64url')}`
}

export function signHmac (secret: string | Buffer, header: Json, payload: Json): string {
  const input = signingInput(header, payload)
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** An unsigned token (`alg: none` and friends): empty signature part. */
export function unsigned (header: Json, payload: Json): string {
  return `${signingInput(header, payload)}.`
}

/** A key pair the services have never seen. */
export function attackerKey (alg: 'ES256' | 'PS256' | 'EdDSA' = 'ES256'): { privateKey: KeyObject, jwk: Json } {
  const { privateKey, publicKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { privateKey, jwk: publicKey.export({ format: 'jwk' }) as Json }
}

/** The auth service's own keys, read from where it shares them (Redis), as an insider would. */
export interface RealKeys {
  access: { kid: string, alg: 'ES256' | 'PS256' | 'EdDSA', privateKey: KeyObject, publicPem: string, publicJwk: Json }
  refresh: { kid: string, secret: Buffer }
}

export async function readRealKeys (sys: System): Promise<RealKeys> {
  const redis = testRedis(sys.authConfig.REDIS_URL)
  try {
    const raw = await redis.get(`${sys.authConfig.REDIS_PREFIX}keys:signing`)
    if (raw === null) throw new Error('the auth service stored no key set')
    const set = JSON.parse(raw) as { access: Array<{ kid: string, alg: 'ES256' | 'PS256' | 'EdDSA', privateJwk: Json }>, refresh: Array<{ kid: string, secret: string }> }
    const a = set.access[set.access.length - 1]!
    const r = set.refresh[set.refresh.length - 1]!
    const privateKey = createPrivateKey({ key: a.privateJwk as never, format: 'jwk' })
    const pub = createPublicKey(privateKey)
    return {
      access: { kid: a.kid, alg: a.alg, privateKey, publicPem: pub.export({ type: 'spki', format: 'pem' }).toString(), publicJwk: { ...pub.export({ format: 'jwk' }), kid: a.kid, alg: a.alg, use: 'sig' } },
      refresh: { kid: r.kid, secret: Buffer.from(r.secret, 'base64url') }
    }
  } finally {
    redis.disconnect()
  }
}

// body: any, because it is whatever JSON the service sent, read field by field by the tests
export interface Answer { status: number, headers: Headers, text: string, body: any }

/** One raw HTTP request: the body is sent byte for byte, the answer is never assumed to be JSON. */
export async function send (url: string, init: { method?: string, headers?: Record<string, string>, body?: string | Uint8Array<ArrayBuffer> } = {}): Promise<Answer> {
  const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body })
  const text = await res.text()
  let body: unknown
  try { body = text === '' ? undefined : JSON.parse(text) } catch { body = text }
  return { status: res.status, headers: res.headers, text, body }
}

export const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString()
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
export const JSON_CT = { 'content-type': 'application/json' }

/** A signed-in user: a real token pair of a live session. */
export interface Victim { access: string, refresh: string, sub: string, sid: string }

export async function signUp (sys: System): Promise<Victim> {
  const res = await call(`${sys.auth}/v1/signup`, { body: { email: uniqueEmail(), password: 'a long enough password' } })
  if (res.status !== 201) throw new Error(`signup answered ${res.status}`)
  const payload = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString()) as { sid: string }
  return { access: res.body.access_token, refresh: res.body.refresh_token, sub: res.body.user.id, sid: payload.sid }
}

export function partsOf (token: string): { header: Json, payload: Json, signature: string } {
  const [h, p, s] = token.split('.')
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()), signature: s ?? '' }
}

/** An HTTP server that only counts what reaches it: a service that fetches a jku/x5u would show up here. */
export async function listeningPost (t: Test, jwks: Json): Promise<{ url: string, hits: string[] }> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(`${req.method ?? ''} ${req.url ?? ''}`)
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(jwks))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

/** Both services answer /health/ready with 200. */
export async function bothReady (sys: System): Promise<[number, number]> {
  const [a, r] = await Promise.all([fetch(`${sys.auth}/health/ready`), fetch(`${sys.resource}/health/ready`)])
  await Promise.all([a.text(), r.text()])
  return [a.status, r.status]
}

/** The system under attack; argon2 at its floor so sign-ups in the fuzz run stay cheap. */
export async function startTarget (t: Test, auth: Parameters<typeof startSystem>[1] = {}): Promise<System> {
  return await startSystem(t, { ACCESS_TOKEN_TTL: 900, ...auth })
}

/** A long run of base64url characters, for oversized headers, payloads and kids. */
export const filler = (bytes: number): string => randomBytes(Math.ceil(bytes * 3 / 4)).toString('base64url').slice(0, bytes)

/** A future-proof now, in NumericDate seconds. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
