import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { Redis, type RedisOptions } from 'ioredis'
import { AuthEnv, loadConfig, logRedisErrors, withDeadline, type AuthConfig } from '@ratchet/shared'
import { buildApp, type BuildOptions } from '../src/app.js'

type Test = { teardown: (fn: () => unknown) => void }

/** A unique key prefix, stream and subject prefix, so tests never see each other's data. */
export function isolation (): Pick<AuthConfig, 'REDIS_PREFIX' | 'NATS_STREAM' | 'NATS_SUBJECT_PREFIX'> {
  const id = randomBytes(5).toString('hex')
  return { REDIS_PREFIX: `test:${id}:`, NATS_STREAM: `TEST_${id}`, NATS_SUBJECT_PREFIX: `test_${id}` }
}

/**
 * Where this test run's Redis and NATS are: `npm test` sets REDIS_URL and NATS_URL (to
 * containers it started, when nothing answered at the defaults); unset, the defaults.
 * Nothing else is read from the environment, so a developer's settings do not leak in.
 */
export function dependencyEnv (): { REDIS_URL?: string, NATS_URL?: string } {
  return { REDIS_URL: process.env.REDIS_URL, NATS_URL: process.env.NATS_URL }
}

export function testConfig (overrides: Partial<AuthConfig> = {}): AuthConfig {
  return loadConfig(AuthEnv, dependencyEnv(), { ...isolation(), LOG_LEVEL: 'silent', PORT: 0, RATE_LIMITS: 'off', ...overrides })
}

/** Where a test's own clients report a lost connection: a TAP comment, so it never breaks the output. */
export const testLog = {
  warn: (obj: object, msg: string) => { console.error(`# ${msg}: ${(obj as { reason?: string }).reason ?? ''}`) },
  info: () => {}
}

/**
 * A Redis client for a test's own reads and writes, with an error listener as every
 * client has: a lost connection is logged once, and ioredis reconnects.
 */
export function testRedis (url: string, options: RedisOptions = {}): Redis {
  return logRedisErrors(new Redis(url, options), testLog, `Redis at ${url} (a test's client)`)
}

/** Deletes every key under a prefix (test clean-up). */
export async function dropPrefix (redisUrl: string, prefix: string): Promise<void> {
  // one attempt, no retries: a test that stopped its own Redis has nothing to drop
  // (and a run killed mid-way is cleaned up by age at the next run's start)
  const redis = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: 2000 })
  redis.on('error', () => {})
  try {
    if (!await withDeadline(redis.connect().then(() => true), 2000, false)) return
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      srv.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
    srv.on('error', reject)
  })
}

export interface Started { url: string, config: AuthConfig, close: () => Promise<void>, app: Awaited<ReturnType<typeof buildApp>> }

/** Starts the auth service on a free port against the real Redis; closed and cleaned at teardown. */
export async function startAuth (t: Test, overrides: Partial<AuthConfig> = {}, opts: BuildOptions = {}): Promise<Started> {
  const config = testConfig(overrides)
  const app = await buildApp(config, { logger: false, ...opts })
  await app.listen({ host: '127.0.0.1', port: config.PORT })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  let closed = false
  const close = async () => { if (!closed) { closed = true; await app.close() } }
  t.teardown(async () => { await close(); await dropPrefix(config.REDIS_URL, config.REDIS_PREFIX) })
  return { url: `http://127.0.0.1:${port}`, config, close, app }
}

/** Starts the auth service whose ISSUER is its own real URL, as OAuth clients require. */
export async function startAuthAtIssuer (t: Test, overrides: Partial<AuthConfig> = {}, opts: BuildOptions = {}): Promise<Started> {
  const port = await freePort()
  return await startAuth(t, { ...overrides, PORT: port, ISSUER: `http://127.0.0.1:${port}` }, opts)
}

export interface JsonResponse<T = Record<string, unknown>> { status: number, headers: Headers, body: T }

/** A real HTTP call; the body is parsed as JSON when there is one. */
export async function call<T = Record<string, any>> (url: string, init: { method?: string, body?: unknown, token?: string, headers?: Record<string, string> } = {}): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers }
  if (init.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json'
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: (text === '' ? undefined : JSON.parse(text)) as T }
}

export function uniqueEmail (): string {
  return `user-${randomBytes(6).toString('hex')}@example.com`
}

/** Polls `check` until it returns a value or the deadline passes. */
export async function eventually<T> (check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('condition not met before the deadline')
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

export function decodeJwt (token: string): { header: Record<string, any>, payload: Record<string, any> } {
  const [h, p] = token.split('.')
  return { header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString()), payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) }
}
