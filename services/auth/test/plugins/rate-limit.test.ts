import t from 'tap'
import { request } from 'node:http'
import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'
import { createLoginBackoff } from '../../src/stores/login-backoff.js'
import { call, eventually, freePort, startAuth, testClock, testRedis, uniqueEmail } from '../helpers.js'

const on = { RATE_LIMITS: 'on' as const }

/** A POST from a chosen loopback address (127.0.0.x), so one test can play many client IPs over real sockets. */
async function postFrom (localAddress: string, url: string, body: unknown): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: any }> {
  const data = JSON.stringify(body)
  return await new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }) })
    })
    req.on('error', reject)
    req.end(data)
  })
}

const login = (url: string, email: string, password = 'wrong-password') => call(`${url}/v1/login`, { body: { email, password } })

t.test('login is limited per client IP with 429 and Retry-After', async (t) => {
  const { url } = await startAuth(t, { ...on, RATE_LIMIT_LOGIN_PER_IP: 3, LOGIN_FREE_FAILURES: 100 })
  for (let i = 0; i < 3; i++) t.equal((await login(url, uniqueEmail())).status, 401)
  const limited = await login(url, uniqueEmail())
  t.equal(limited.status, 429)
  t.match(limited.body, { statusCode: 429, code: 'RATCHET_RATE_LIMITED', message: /retry in \d+ seconds/ })
  t.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After names a wait in seconds')
  t.equal(limited.headers.get('x-ratelimit-limit'), '3')
  const other = await postFrom('127.0.0.2', `${url}/v1/login`, { email: uniqueEmail(), password: 'wrong-password' })
  t.equal(other.status, 401, 'another client IP has its own budget')
})

t.test('login is limited per account whatever the client IP', async (t) => {
  const { url } = await startAuth(t, { ...on, RATE_LIMIT_LOGIN_PER_ACCOUNT: 2, LOGIN_FREE_FAILURES: 100 })
  const email = uniqueEmail()
  t.equal((await postFrom('127.0.0.3', `${url}/v1/login`, { email, password: 'wrong-password' })).status, 401)
  t.equal((await postFrom('127.0.0.4', `${url}/v1/login`, { email: ` ${email.toUpperCase()} `, password: 'wrong-password' })).status, 401)
  const limited = await postFrom('127.0.0.5', `${url}/v1/login`, { email, password: 'wrong-password' })
  t.equal(limited.status, 429, 'the same account (normalised) from a third IP is refused')
  t.equal(limited.body.code, 'RATCHET_RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) >= 1)
  t.equal((await postFrom('127.0.0.5', `${url}/v1/login`, { email: uniqueEmail(), password: 'wrong-password' })).status, 401, 'other accounts are not affected')
})

t.test('signup, refresh and the OAuth token endpoint are limited per client IP', async (t) => {
  const { url } = await startAuth(t, { ...on, RATE_LIMIT_SIGNUP_PER_IP: 1, RATE_LIMIT_REFRESH_PER_IP: 1 })
  const signup = await call(`${url}/v1/signup`, { body: { email: uniqueEmail(), password: 'long-enough' } })
  t.equal(signup.status, 201)
  const again = await call(`${url}/v1/signup`, { body: { email: uniqueEmail(), password: 'long-enough' } })
  t.equal(again.status, 429)
  t.ok(again.headers.get('retry-after'))

  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: signup.body.refresh_token } })).status, 200)
  const refresh = await call(`${url}/v1/refresh`, { body: { refresh_token: signup.body.refresh_token } })
  t.equal(refresh.status, 429)
  t.ok(refresh.headers.get('retry-after'))

  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const body = 'grant_type=refresh_token&client_id=first-party&refresh_token=x'
  t.equal((await call(`${url}/oauth/token`, { body, headers: form })).status, 400)
  const token = await call(`${url}/oauth/token`, { body, headers: form })
  t.equal(token.status, 429, 'the token endpoint counts on its own')
  t.ok(token.headers.get('retry-after'))
})

t.test('every instance shares the same counters through Redis', async (t) => {
  const a = await startAuth(t, { ...on, RATE_LIMIT_LOGIN_PER_IP: 2, LOGIN_FREE_FAILURES: 100 })
  const b = await startAuth(t, { ...a.config, PORT: 0 })
  t.equal((await login(a.url, uniqueEmail())).status, 401)
  t.equal((await login(b.url, uniqueEmail())).status, 401)
  t.equal((await login(a.url, uniqueEmail())).status, 429, 'the third try is refused though each instance saw fewer')
})

t.test('failed logins make the next try wait longer each time, and a success clears them', async (t) => {
  // the service's clock moves only when the test moves it: each wait is exactly what the count earns
  const clock = testClock()
  const { url, config } = await startAuth(t, { ...on, LOGIN_FREE_FAILURES: 2, RATE_LIMIT_LOGIN_PER_IP: 1000, RATE_LIMIT_LOGIN_PER_ACCOUNT: 1000 }, { now: clock.now })
  const email = uniqueEmail()
  t.equal((await call(`${url}/v1/signup`, { body: { email, password: 'the-right-one' } })).status, 201)
  t.equal((await login(url, email)).status, 401)
  t.equal((await login(url, email)).status, 401)

  const throttled = await login(url, email, 'the-right-one')
  t.equal(throttled.status, 429, 'even the right password waits: the answer must not reveal it')
  t.match(throttled.body, { code: 'RATCHET_LOGIN_THROTTLED' })
  t.equal(throttled.headers.get('retry-after'), '1')

  const redis = testRedis(config.REDIS_URL, { keyPrefix: config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  t.equal(await redis.hget(redisKeys.loginFailures(email), 'n'), '2', 'refused tries do not count as failures')
  t.ok(await redis.pttl(redisKeys.loginFailures(email)) > 0, 'the counter expires on its own')

  // the wait doubles: the third failure earns 2 s
  clock.advance(999)
  t.equal((await login(url, email)).status, 429, 'still waiting 1 ms before the second is up')
  clock.advance(1)
  const third = await login(url, email)
  t.equal(third.status, 401)
  const longer = await login(url, email)
  t.equal(longer.status, 429)
  t.equal(longer.headers.get('retry-after'), '2')

  clock.advance(2000)
  const ok = await login(url, email, 'the-right-one')
  t.equal(ok.status, 200)
  t.equal(await redis.exists(redisKeys.loginFailures(email)), 0, 'success clears the failures')
  t.equal((await login(url, email)).status, 401)
  t.equal((await login(url, email)).status, 401, 'the free tries are back')
})

t.test('unknown e-mails are slowed exactly like real accounts', async (t) => {
  const { url } = await startAuth(t, { ...on, LOGIN_FREE_FAILURES: 1 }, { now: testClock().now })
  const email = uniqueEmail()
  t.equal((await login(url, email)).status, 401)
  const throttled = await login(url, email)
  t.equal(throttled.status, 429)
  t.equal(throttled.body.code, 'RATCHET_LOGIN_THROTTLED')
})

t.test('one wait never exceeds LOGIN_BACKOFF_MAX', async (t) => {
  const backoff = createLoginBackoff(new Redis({ lazyConnect: true }), { free: 5, maxMs: 900_000, ttlMs: 3_600_000 })
  t.same([4, 5, 6, 7, 14, 15, 40].map(backoff.waitAfter), [0, 1000, 2000, 4000, 512_000, 900_000, 900_000])
})

t.test('RATE_LIMITS=off disables every limit', async (t) => {
  const { url } = await startAuth(t, { RATE_LIMITS: 'off', RATE_LIMIT_LOGIN_PER_IP: 1, RATE_LIMIT_LOGIN_PER_ACCOUNT: 1, LOGIN_FREE_FAILURES: 1 })
  const email = uniqueEmail()
  for (let i = 0; i < 4; i++) {
    const r = await login(url, email)
    t.equal(r.status, 401)
    t.equal(r.headers.get('x-ratelimit-limit'), null)
  }
})

t.test('with Redis away the limited routes answer 503 with Retry-After, not 500', async (t) => {
  const port = await freePort()
  const startRedis = async () => {
    const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    await eventually(async () => {
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      probe.on('error', () => {}) // refused until the server is up: the answer, not news
      try { await probe.connect(); return (await probe.ping()) === 'PONG' ? true : undefined } catch { return undefined } finally { probe.disconnect() }
    }, 10000, 50)
    return { stop: async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await exited } } }
  }
  let redis = await startRedis()
  // registered first so it runs last: the service and its clean-up need Redis
  t.teardown(async () => { await redis.stop() })
  const { url, close } = await startAuth(t, { ...on, REDIS_URL: `redis://127.0.0.1:${port}` })
  t.equal((await login(url, uniqueEmail())).status, 401)

  await redis.stop()
  for (const path of ['/v1/login', '/v1/signup']) {
    const r = await call(`${url}${path}`, { body: { email: uniqueEmail(), password: 'long-enough' } })
    t.equal(r.status, 503, path)
    t.equal(r.body.code, 'RATCHET_DEPENDENCY_UNAVAILABLE')
    t.equal(r.headers.get('retry-after'), '1')
  }
  const token = await call(`${url}/oauth/token`, { body: 'grant_type=refresh_token&client_id=first-party&refresh_token=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(token.status, 503)
  t.equal(token.body.error, 'temporarily_unavailable')

  // back, so the service closes cleanly
  redis = await startRedis()
  await eventually(async () => (await login(url, uniqueEmail())).status === 401 ? true : undefined, 10000, 100)
  await close()
})
