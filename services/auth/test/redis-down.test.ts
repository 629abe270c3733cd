import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { call, eventually, freePort, startAuth, uniqueEmail } from './helpers.js'

/** A private redis-server for this test only: the machine's own is never stopped. */
async function startRedis (port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' })
  await eventually(async () => {
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {}) // refused until the server is up: the answer, not news
    try { await probe.connect(); return (await probe.ping()) === 'PONG' ? true : undefined } catch { return undefined } finally { probe.disconnect() }
  }, 10000, 50)
  return child
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

t.test('with Redis stopped the service answers 503, and recovers by itself when it returns', async (t) => {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-redis-'))
  let redis = await startRedis(port, dir)
  t.teardown(async () => { await stop(redis); await rm(dir, { recursive: true, force: true }) })
  const { url } = await startAuth(t, { REDIS_URL: `redis://127.0.0.1:${port}` })

  const email = uniqueEmail()
  const signup = await call(`${url}/v1/signup`, { body: { email, password: 'survives-restart' } })
  t.equal(signup.status, 201)

  await stop(redis)
  const refresh = await call(`${url}/v1/refresh`, { body: { refresh_token: signup.body.refresh_token } })
  t.equal(refresh.status, 503)
  t.match(refresh.body, { code: 'RATCHET_DEPENDENCY_UNAVAILABLE', message: /Redis is unavailable/ })
  t.equal(refresh.headers.get('retry-after'), '1')
  const login = await call(`${url}/v1/login`, { body: { email, password: 'survives-restart' } })
  t.equal(login.status, 503)
  const ready = await call(`${url}/health/ready`)
  t.equal(ready.status, 503)
  t.match(ready.body, { checks: { redis: false } })
  t.equal((await call(`${url}/health/live`)).status, 200, 'the process is alive')

  redis = await startRedis(port, dir)
  const recovered = await eventually(async () => {
    const res = await call(`${url}/v1/refresh`, { body: { refresh_token: signup.body.refresh_token } })
    return res.status === 503 ? undefined : res
  }, 10000, 100)
  t.equal(recovered.status, 200, 'the refresh token issued before the outage still works')
  t.equal((await call(`${url}/health/ready`)).status, 200)
})
