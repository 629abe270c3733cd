// The helpers every workspace's tests use, written once. Each workspace has one helper
// module of its own (services/auth/test/helpers.ts, services/resource/test/helpers.ts,
// test/support.ts) that re-exports these and adds what only it needs.
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { Redis, type RedisOptions } from 'ioredis'
import { AckPolicy, connect, DeliverPolicy, type JetStreamManager, type NatsConnection } from 'nats'
import type { Test as TapTest } from 'tap'
import type { FastifyInstance } from 'fastify'
import { Validator } from '@seriousme/openapi-schema-validator'
import { logRedisErrors, withDeadline } from '@ratchet/shared'
import { routeInventory } from '@ratchet/fastify'

/** What a helper needs of a tap test: somewhere to close what it opened. */
export type Test = { teardown: (fn: () => unknown) => void }

/** A unique key prefix, stream and subject prefix, so tests never see each other's data. */
export function isolation (): { REDIS_PREFIX: string, NATS_STREAM: string, NATS_SUBJECT_PREFIX: string } {
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

/** A port nothing listens on right now (for a server a test starts, stops and starts again). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      srv.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

/**
 * Polls `check` until it returns a value other than undefined or false, and returns
 * that value; throws once the deadline passed (no sleeping for a fixed time).
 */
export async function eventually<T> (check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error('condition not met before the deadline')
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

// any: tests read response bodies loosely, t.match checks their shape
export interface JsonResponse<T = Record<string, any>> { status: number, headers: Headers, body: T }

export interface CallOptions {
  method?: string
  /** a JSON body (an object), or the raw body (a string, e.g. form-encoded with its own content-type) */
  body?: unknown
  /** sent as `Authorization: Bearer <token>` */
  token?: string
  /** the whole Authorization header, for other schemes and malformed ones */
  authorization?: string
  headers?: Record<string, string>
}

/** A real HTTP call through a socket; the body is parsed as JSON when there is one (undefined when empty). */
export async function call<T = Record<string, any>> (url: string, init: CallOptions = {}): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers }
  if (init.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json'
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
  if (init.authorization !== undefined) headers.authorization = init.authorization
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: (text === '' ? undefined : JSON.parse(text)) as T }
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

/** A plain NATS client, as another service would use; closed at teardown. */
export async function natsClient (t: Test, servers: string | string[] = process.env.NATS_URL || 'nats://127.0.0.1:4222'): Promise<NatsConnection> {
  const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 200 })
  t.teardown(async () => { await nc.close() })
  return nc
}

export function uniqueEmail (): string {
  return `user-${randomBytes(6).toString('hex')}@example.com`
}

export function decodeJwt (token: string): { header: Record<string, any>, payload: Record<string, any> } {
  const [h, p] = token.split('.')
  return { header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString()), payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) }
}

/** The UI's own files and routes: not part of the API. */
const undocumented = (url: string) => url === '/docs' || url.startsWith('/docs/')

/** Fastify's path syntax (`/v1/sessions/:sid`) in OpenAPI's (`/v1/sessions/{sid}`). */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}')

/** An OpenAPI document as the docs tests read it. */
export interface OpenApiDocument { openapi: string, info: { title: string, version: string }, paths: Record<string, Record<string, unknown>>, components: { securitySchemes: Record<string, unknown> } }

/**
 * What /docs promises in both services (@ratchet/fastify's docs plugin): every route has a
 * response schema, and /docs/json is a valid OpenAPI 3 document that lists every route.
 */
export function docsContract (t: TapTest, app: FastifyInstance, url: string, expected: { title: RegExp, minRoutes: number }): void {
  t.test('every route declares a schema with its responses', async (t) => {
    const routes = routeInventory(app).filter((r) => !undocumented(r.url))
    t.ok(routes.length >= expected.minRoutes, `the inventory saw the routes (${routes.length})`)
    for (const r of routes) {
      t.ok(r.schema?.response !== undefined, `${r.method} ${r.url} has a response schema`)
    }
    t.ok(routes.some((r) => r.url === '/metrics'), '/metrics is among them')
  })

  t.test('/docs/json is a valid OpenAPI 3 document listing every route over a real socket', async (t) => {
    const res = await fetch(`${url}/docs/json`)
    t.equal(res.status, 200)
    const spec = await res.json() as OpenApiDocument
    t.match(spec.openapi, /^3\./)
    t.match(spec.info, { title: expected.title, version: /^\d+\.\d+\.\d+/ })
    const result = await new Validator().validate(spec as unknown as Record<string, unknown>)
    t.ok(result.valid, `valid OpenAPI: ${JSON.stringify(result.errors ?? []).slice(0, 500)}`)
    for (const r of routeInventory(app)) {
      if (undocumented(r.url) || r.method === 'HEAD') continue
      t.ok(spec.paths[openapiPath(r.url)]?.[r.method.toLowerCase()], `${r.method} ${r.url} is documented`)
    }
    t.match(spec.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer' } })
  })
}

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
export function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = (m[2] ?? '').split(',').filter((s) => s !== '')
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3])
  }
  return undefined
}

/** How much a series grew between two scrapes (tests that share one service compare deltas). */
export function delta (before: string, after: string, name: string, labels: Record<string, string> = {}): number {
  return (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0)
}

/** The service's /metrics text (open: the tests set no METRICS_TOKEN). */
export async function scrape (url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  return await res.text()
}

/**
 * What someone with JetStream API rights can do to a service's durable consumer behind
 * its back, each as [what, tamper(jsm, stream, subjectPrefix)]: the watchdog tests of
 * both services check that the durable is put back after each.
 */
export function durableTamperings (durable: string): Array<[string, (jsm: JetStreamManager, stream: string, prefix: string) => Promise<void>]> {
  return [
    ['deleted', async (jsm, stream) => { await jsm.consumers.delete(stream, durable) }],
    ['replaced with a consumer of another filter', async (jsm, stream, prefix) => {
      await jsm.consumers.delete(stream, durable)
      await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New, filter_subject: `${prefix}.events.nothing` })
    }],
    ['changed in place to another filter', async (jsm, stream, prefix) => {
      await jsm.consumers.update(stream, durable, { filter_subject: `${prefix}.events.nothing` })
    }]
  ]
}
