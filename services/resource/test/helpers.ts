import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign as cryptoSign, constants, type KeyObject } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect, type NatsConnection } from 'nats'
import { loadConfig, ResourceEnv, type ResourceConfig } from '@ratchet/shared'
import { buildApp, type BuildOptions } from '../src/app.js'
import { dependencyEnv, dropPrefix, eventually, isolation, natsClient, type Test } from '../../../shared/test/helpers.js'

// The resource service's test helpers: the ones every workspace shares (shared/test/helpers.ts),
// and test keys and tokens, a JWKS server, the event stream, and starting the service.
export * from '../../../shared/test/helpers.js'

export type Alg = 'ES256' | 'EdDSA' | 'PS256'

/** A signing key as the auth service would hold it: private key, public JWK with kid and alg. */
export interface TestKey { kid: string, alg: Alg, privateKey: KeyObject, jwk: Record<string, unknown> }

export function generateKey (alg: Alg = 'ES256', kid = `k-${randomBytes(4).toString('hex')}`): TestKey {
  const { privateKey, publicKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { kid, alg, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } }
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

/** Signs any header and payload with a key, honestly: tests forge tokens by changing what they sign. */
export function signWith (key: TestKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`
  const data = Buffer.from(input)
  const sig = key.alg === 'ES256'
    ? cryptoSign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : key.alg === 'EdDSA'
      ? cryptoSign(null, data, key.privateKey)
      : cryptoSign('sha256', data, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
  return `${input}.${sig.toString('base64url')}`
}

export function signHs256 (secret: string | Buffer, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

export const nowSec = () => Math.floor(Date.now() / 1000)

/** Claims as the auth service issues them. */
export function claims (config: ResourceConfig, over: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowSec()
  return {
    iss: config.ISSUER,
    aud: config.AUDIENCE,
    sub: `user-${randomUUID()}`,
    client_id: 'first-party',
    iat,
    exp: iat + config.ACCESS_TOKEN_TTL,
    jti: randomUUID(),
    sid: randomUUID(),
    scope: 'notes:read notes:write',
    auth_time: Date.now() / 1000,
    ...over
  }
}

/** A tiny JWKS server on port 0 whose key set tests may change. */
export interface Jwks { url: string, keys: TestKey[], fetches: number, down: boolean, server: Server }

export async function startJwks (t: Test, keys: TestKey[] = [generateKey()]): Promise<Jwks> {
  const jwks: Jwks = { url: '', keys, fetches: 0, down: false, server: null as unknown as Server }
  jwks.server = createServer((req, res) => {
    jwks.fetches++
    if (jwks.down) { res.writeHead(503).end(); return }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: jwks.keys.map((k) => k.jwk) }))
  })
  await new Promise<void>((resolve) => jwks.server.listen(0, '127.0.0.1', resolve))
  jwks.url = `http://127.0.0.1:${(jwks.server.address() as AddressInfo).port}/.well-known/jwks.json`
  t.teardown(() => new Promise((resolve) => { jwks.server.closeAllConnections(); jwks.server.close(resolve) }))
  return jwks
}

/** Creates the event stream the way the auth service does (the resource service never does), deleted at teardown. */
export async function createStream (t: Test, nc: NatsConnection, config: Pick<ResourceConfig, 'NATS_STREAM' | 'NATS_SUBJECT_PREFIX'>): Promise<void> {
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: config.NATS_STREAM, subjects: [`${config.NATS_SUBJECT_PREFIX}.events.>`] })
  // a connection of its own: `nc` may be closed by an earlier teardown
  const server = nc.getServer()
  t.teardown(async () => {
    // a test that stopped its own NATS server has no stream left to delete
    const c = await connect({ servers: server, timeout: 2000 }).catch(() => undefined)
    if (c === undefined) return
    await (await c.jetstreamManager()).streams.delete(config.NATS_STREAM).catch(() => {})
    await c.close()
  })
}

export async function publish (nc: NatsConnection, config: Pick<ResourceConfig, 'NATS_SUBJECT_PREFIX'>, type: 'session.revoked' | 'user.revoked' | string, data: unknown): Promise<void> {
  await nc.jetstream().publish(`${config.NATS_SUBJECT_PREFIX}.events.${type}`, typeof data === 'string' ? data : JSON.stringify(data))
}

export interface Started {
  app: Awaited<ReturnType<typeof buildApp>>
  url: string
  config: ResourceConfig
  jwks: Jwks
  key: TestKey
  nc: NatsConnection
  /** signs an access token as the auth service would, with `over` claims and header changes */
  token: (over?: Record<string, unknown>, header?: Record<string, unknown>) => string
}

export interface StartOptions {
  config?: Partial<ResourceConfig>
  build?: BuildOptions
  /** do not create the stream (tests of waiting for it) */
  noStream?: boolean
  jwks?: Jwks
  /** start listening without waiting for readiness */
  noWait?: boolean
}

/** Builds the service against the machine's Redis and NATS with its own prefix and stream, listening on port 0. */
export async function start (t: Test, opts: StartOptions = {}): Promise<Started> {
  const jwks = opts.jwks ?? await startJwks(t)
  const iso = isolation()
  const config = loadConfig(ResourceEnv, dependencyEnv(), { ...iso, JWKS_URL: jwks.url, ISSUER: 'http://auth.test', LOG_LEVEL: 'silent', PORT: 0, ...opts.config })
  const nc = await natsClient(t, config.NATS_URL)
  if (opts.noStream !== true) await createStream(t, nc, config)
  const app = await buildApp(config, { logger: false, retryInterval: 100, jwks: { minRefreshInterval: 0, retryInterval: 100 }, ...opts.build })
  t.teardown(async () => {
    await app.close()
    await dropPrefix(config.REDIS_URL, config.REDIS_PREFIX)
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  if (opts.noWait !== true) await eventually(async () => (await fetch(`${url}/health/ready`)).status === 200, 10_000)
  const key = jwks.keys[0]!
  const token = (over: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    signWith(key, { alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }, claims(config, over))
  return { app, url, config, jwks, key, nc, token }
}
