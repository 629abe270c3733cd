import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from 'nats'
import { redisKeys, type AuthConfig } from '@ratchet/shared'
import { call, eventually, startAuth, type Started, testConfig, testRedis } from './helpers.js'

type Test = { teardown: (fn: () => unknown) => void }

/** A plain NATS client, as another service would use; drained at teardown. */
export async function natsClient (t: Test, servers = testConfig().NATS_URL): Promise<NatsConnection> {
  const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 200 })
  t.teardown(async () => { await nc.close() })
  return nc
}

/** Deletes the test's stream (only tests do this; no service ever deletes it). */
export async function dropStream (servers: string, stream: string): Promise<void> {
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

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      srv.close(() => resolve(port))
    })
  })
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
