// The auth service's test helpers: the ones every workspace shares (shared/test/helpers.ts),
// and starting the service, its event stream and its sessions.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { connect } from 'nats'
import { AuthEnv, loadConfig, redisKeys, type AuthConfig } from '@ratchet/shared'
import { buildApp, type BuildOptions } from '../src/app.js'
import { createKeyManager } from '../src/keys/manager.js'
import { createJwt } from '../src/tokens/jwt.js'
import jwtPlugin from '../src/plugins/jwt.js'
import { createTokenService, type TokenServiceDeps } from '../src/tokens/service.js'
import { createSessionStore } from '../src/stores/sessions.js'
import { createOutbox } from '../src/stores/outbox.js'
import { call, dependencyEnv, dropPrefix, eventually, freePort, isolation, testRedis, type Test } from '../../../shared/test/helpers.js'

export * from '../../../shared/test/helpers.js'

export function testConfig (overrides: Partial<AuthConfig> = {}): AuthConfig {
  return loadConfig(AuthEnv, dependencyEnv(), { ...isolation(), LOG_LEVEL: 'silent', PORT: 0, RATE_LIMITS: 'off', ...overrides })
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

/**
 * A clock the test moves by hand (`advance`), for BuildOptions.now or a service's `now`:
 * time-based policy (the login back-off's 1 s, 2 s, ... waits) then depends on what the
 * test does, not on how fast a loaded machine answers. Redis' own TTLs do not follow it.
 */
export function testClock (at = Date.now()) {
  const clock = { ms: at, now: () => clock.ms, advance: (ms: number) => { clock.ms += ms } }
  return clock
}

/**
 * The token service on its own, against the real Redis under the test's own prefix, with
 * a clock the test moves (`clock.advance`): what a direct test of the token policy, or of
 * a service built on it, starts from. Redis' own TTLs do not follow the clock.
 */
export async function tokenFixture (t: Test, overrides: Partial<AuthConfig> = {}, hooks: Pick<TokenServiceDeps, 'onSecurityEvent' | 'onRefresh'> = {}) {
  const config = testConfig(overrides)
  const clock = testClock()
  const redis = testRedis(config.REDIS_URL, { keyPrefix: config.REDIS_PREFIX })
  t.teardown(async () => { redis.disconnect(); await dropPrefix(config.REDIS_URL, config.REDIS_PREFIX) })
  // a logger that writes nothing
  const log = Fastify({ logger: false }).log
  const keys = await createKeyManager(config, redis, log, clock.now)
  t.teardown(() => keys.close())
  const sessions = createSessionStore(redis, config.REDIS_PREFIX)
  const outbox = createOutbox(redis)
  const jwtOptions = { issuer: config.ISSUER, audience: config.AUDIENCE, leewaySeconds: config.CLOCK_LEEWAY, now: clock.now }
  const jwt = createJwt(keys.ring, jwtOptions)
  const tokens = createTokenService({ config, jwt, sessions, outbox, now: clock.now, ...hooks })
  // the caller's own token is verified by @fastify/jwt's request decorators, which live on an app
  const callerApp = Fastify({ logger: false })
  await callerApp.register(jwtPlugin, { ring: keys.ring, options: jwtOptions })
  callerApp.get<{ Querystring: { expired?: string } }>('/caller', async (request) => await tokens.verifyCaller(request, request.query.expired === 'ok'))
  t.teardown(() => callerApp.close())
  /** What verifyCaller makes of `token` sent as `Authorization: Bearer`: its claims, or the error's JSON. */
  const callerClaims = async (token: string, allowExpired = false): Promise<Record<string, any>> =>
    (await callerApp.inject({ url: `/caller${allowExpired ? '?expired=ok' : ''}`, headers: { authorization: `Bearer ${token}` } })).json()
  /** The events recorded for the relay, oldest first. */
  const events = async (): Promise<Array<Record<string, any>>> => (await redis.xrange(outbox.key, '-', '+')).map(([, f]: [string, string[]]) => ({ type: f[1], ...JSON.parse(f[3] ?? '{}') }))
  return { config, clock, redis, log, sessions, outbox, tokens, events, callerClaims }
}

/** Deletes the test's stream (only tests do this; no service ever deletes it). */
export async function dropStream (servers: string | string[], stream: string): Promise<void> {
  const nc = await connect({ servers, timeout: 2000 }).catch(() => undefined)
  if (nc === undefined) return
  try {
    const jsm = await nc.jetstreamManager()
    await jsm.streams.delete(stream).catch(() => false)
  } finally {
    await nc.close()
  }
}

/** Starts the auth service, waits until it is ready (NATS connected, stream in place), drops the stream at teardown. */
export async function startReady (t: Test, overrides: Partial<AuthConfig> = {}): Promise<Started> {
  const started = await startAuth(t, overrides)
  t.teardown(async () => { await dropStream(started.config.NATS_URL, started.config.NATS_STREAM) })
  await eventually(async () => (await call(`${started.url}/health/ready`)).status === 200 || undefined, 10000)
  return started
}

/** A session: signs a new user up and returns its tokens and ids. */
export async function signUp (url: string): Promise<{ access: string, refresh: string, sub: string, sid: string, email: string, password: string }> {
  const email = `user-${Math.random().toString(16).slice(2)}@example.com`
  const password = 'correct horse battery'
  const res = await call(`${url}/v1/signup`, { body: { email, password } })
  if (res.status !== 201) throw new Error(`signup failed: ${res.status}`)
  return { ...tokensOf(res.body), email, password }
}

export async function logIn (url: string, email: string, password: string): Promise<{ access: string, refresh: string, sub: string, sid: string }> {
  const res = await call(`${url}/v1/login`, { body: { email, password } })
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`)
  return tokensOf(res.body)
}

function tokensOf (body: Record<string, any>): { access: string, refresh: string, sub: string, sid: string } {
  const payload = JSON.parse(Buffer.from(String(body.access_token).split('.')[1] ?? '', 'base64url').toString())
  return { access: body.access_token, refresh: body.refresh_token, sub: payload.sub, sid: payload.sid }
}

/** Whether the session is still stored (read straight from Redis, so polling changes nothing). */
export async function sessionExists (config: AuthConfig, sub: string, sid: string): Promise<boolean> {
  const redis = testRedis(config.REDIS_URL, { keyPrefix: config.REDIS_PREFIX })
  try {
    return (await redis.exists(redisKeys.session(sub, sid))) === 1
  } finally {
    redis.disconnect()
  }
}

/** A nats-server of the test's own, which the test may stop and start again on the same port and store. */
export async function ownNatsServer (t: Test): Promise<{ url: string, start: () => Promise<void>, stop: () => Promise<void> }> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-nats-'))
  const url = `nats://127.0.0.1:${port}`
  let proc: ChildProcess | undefined
  async function start (): Promise<void> {
    proc = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
    await eventually(async () => {
      const nc = await connect({ servers: url, timeout: 500 }).catch(() => undefined)
      if (nc === undefined) return undefined
      await nc.close()
      return true
    }, 10000, 50)
  }
  async function stop (): Promise<void> {
    const p = proc
    proc = undefined
    if (p === undefined || p.exitCode !== null) return
    await new Promise((resolve) => { p.once('exit', resolve); p.kill('SIGKILL') })
  }
  t.teardown(async () => { await stop(); await rm(dir, { recursive: true, force: true }) })
  await start()
  return { url, start, stop }
}
