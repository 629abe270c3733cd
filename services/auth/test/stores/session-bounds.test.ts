import t from 'tap'
import { spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import { StringCodec } from 'nats'
import { redisKeys } from '@ratchet/shared'
import { createSessionStore } from '../../src/stores/sessions.js'
import { call, decodeJwt, eventually, freePort, natsClient, startAuth, startReady, testRedis, uniqueEmail } from '../helpers.js'

const password = 'bounded-sessions'

async function signUp (url: string) {
  const email = uniqueEmail()
  const res = await call(`${url}/v1/signup`, { body: { email, password } })
  const login = async () => (await call(`${url}/v1/login`, { body: { email, password } })).body
  return { email, first: res.body, sub: String(res.body.user.id), login }
}

const sidOf = (body: Record<string, any>): string => decodeJwt(String(body.access_token)).payload.sid

t.test('a login past MAX_SESSIONS_PER_USER ends the least recently used session and announces it', async (t) => {
  const { url, config } = await startReady(t, { MAX_SESSIONS_PER_USER: 3 })
  const nc = await natsClient(t)
  const revoked: Array<Record<string, unknown>> = []
  const sub = nc.subscribe(`${config.NATS_SUBJECT_PREFIX}.events.session.revoked`)
  const collecting = (async () => { for await (const m of sub) revoked.push(JSON.parse(StringCodec().decode(m.data))) })()
  t.teardown(async () => { sub.unsubscribe(); await collecting })
  await nc.flush()

  const user = await signUp(url)
  const second = await user.login()
  const third = await user.login()
  // the first session is used again, so the second is now the least recently used
  const renewed = await call(`${url}/v1/refresh`, { body: { refresh_token: user.first.refresh_token } })
  t.equal(renewed.status, 200)
  const fourth = await user.login()
  t.equal(fourth.access_token !== undefined, true)

  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: second.refresh_token } })).status, 401, 'the evicted session is over')
  for (const live of [renewed.body, third, fourth]) {
    t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: live.refresh_token } })).status, 200)
  }
  const event = await eventually(() => revoked.find((e) => e.sid === sidOf(second)))
  t.match(event, { sub: user.sub, reason: 'session_limit' })
  t.equal(revoked.filter((e) => e.reason === 'session_limit').length, 1, 'one eviction, one event')
})

t.test('the per-user index forgets sessions that expired while idle', async (t) => {
  let clock = Date.now()
  const { url, config } = await startAuth(t, { REFRESH_TOKEN_TTL: 60, SESSION_MAX_AGE: 3600 }, { now: () => clock })
  const user = await signUp(url)
  await user.login()
  await user.login()
  clock += 61_000
  const fresh = await user.login()
  const redis = testRedis(config.REDIS_URL, { keyPrefix: config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  t.same(await redis.zrange(redisKeys.sessions(user.sub), 0, -1), [sidOf(fresh)], 'only the live session is indexed')
  const score = Number(await redis.zscore(redisKeys.sessions(user.sub), sidOf(fresh)))
  t.equal(score, clock + 60_000, 'scored by its idle expiry')
  clock += 30_000
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: fresh.refresh_token } })).status, 200)
  t.equal(Number(await redis.zscore(redisKeys.sessions(user.sub), sidOf(fresh))), clock + 60_000, 'a refresh moves its idle expiry')
})

t.test('a stale access token of an ended session cannot log the user out everywhere', async (t) => {
  let clock = Date.now()
  const { url } = await startAuth(t, { ACCESS_TOKEN_TTL: 60, CLOCK_LEEWAY: 0 }, { now: () => clock })
  const user = await signUp(url)
  const second = await user.login()
  const third = await user.login()
  t.equal((await call(`${url}/v1/logout`, { method: 'POST', token: String(user.first.access_token) })).status, 204)
  clock += 120_000
  // expired, and its session is over
  const stale = await call(`${url}/v1/logout-all`, { method: 'POST', token: String(user.first.access_token) })
  t.equal(stale.status, 401)
  t.match(stale.body, { message: /revoked/ })
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: third.refresh_token } })).status, 200, 'newer sessions live on')
  // expired, but its session lives: logging out of this session and the others is still allowed
  t.equal((await call(`${url}/v1/logout-all`, { method: 'POST', token: String(second.access_token) })).status, 204)
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: second.refresh_token } })).status, 401)
})

t.test('listing, deleting and logging out stay bounded at thousands of sessions of one user', async (t) => {
  const { url, config } = await startAuth(t, { MAX_SESSIONS_PER_USER: 100 })
  const user = await signUp(url)
  const caller = await user.login()
  // seeded straight through the store, past the cap (as an index from before the cap would be)
  const redis = testRedis(config.REDIS_URL, { keyPrefix: config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  const store = createSessionStore(redis, config.REDIS_PREFIX)
  const seeded = 5000
  const now = Date.now()
  for (let i = 0; i < seeded; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => store.create({
      sub: user.sub, sid: `seed-${i + j}`, jti: `j-${i + j}`, clientId: 'first-party', scope: 's', now: now - 1000, idleMs: 3_600_000, maxMs: 7_200_000, maxSessions: 1_000_000
    })))
  }
  t.equal(await redis.zcard(redisKeys.sessions(user.sub)), seeded + 2)

  const list = await call(`${url}/v1/sessions`, { token: String(caller.access_token) })
  t.equal(list.status, 200)
  t.equal(list.body.sessions.length, 100, 'never more than the cap in one answer')
  const del = await call(`${url}/v1/sessions/seed-1234`, { method: 'DELETE', token: String(caller.access_token) })
  t.equal(del.status, 204)
  t.equal(await redis.exists(redisKeys.session(user.sub, 'seed-1234')), 0)

  // each login trims an oversized index by a bounded batch, never in one go
  await user.login()
  const afterLogin = await redis.zcard(redisKeys.sessions(user.sub))
  t.ok(afterLogin < seeded + 2 && afterLogin > 100, `trimmed by a batch (${afterLogin} left)`)

  t.equal((await call(`${url}/v1/logout-all`, { method: 'POST', token: String(caller.access_token) })).status, 204)
  t.equal(await redis.zcard(redisKeys.sessions(user.sub)), 0, 'logout-all ended every one, batch by batch')
  const leftover = await redis.keys(`${config.REDIS_PREFIX}${redisKeys.session(user.sub, '')}*`)
  t.same(leftover, [])
})

/** A Redis of this test's own, so it can be made to stall without stalling anyone else's. */
async function privateRedis (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const port = await freePort()
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  t.teardown(async () => { if (proc.exitCode === null) await new Promise((resolve) => { proc.once('exit', resolve); proc.kill('SIGKILL') }) })
  const url = `redis://127.0.0.1:${port}`
  await eventually(async () => {
    const r = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    r.on('error', () => {})
    try { await r.connect(); return await r.ping() === 'PONG' || undefined } catch { return undefined } finally { r.disconnect() }
  }, 10000, 50)
  return url
}

// Holds Redis for ARGV[1] ms, as a long script of someone else's would.
const stall = `
local t0 = redis.call('TIME')
local start = t0[1] * 1000 + math.floor(t0[2] / 1000)
while true do
  local t1 = redis.call('TIME')
  if t1[1] * 1000 + math.floor(t1[2] / 1000) - start >= tonumber(ARGV[1]) then return 1 end
end`

t.test('a refresh whose rotation ran while its answer timed out is reported as the success it was', async (t) => {
  const redisUrl = await privateRedis(t)
  const { url } = await startAuth(t, { REDIS_URL: redisUrl, REFRESH_REUSE_GRACE: 0 })
  const user = await signUp(url)
  const blocker = testRedis(redisUrl)
  t.teardown(() => { blocker.disconnect() })
  await blocker.ping()
  // longer than the service's 2 s command timeout: the rotate queued behind it
  // times out, then runs (the script is written before the request is sent)
  const stalled = blocker.eval(stall, 0, 2600)
  const refreshed = await call(`${url}/v1/refresh`, { body: { refresh_token: user.first.refresh_token } })
  await stalled
  t.equal(refreshed.status, 200, 'the committed rotation is answered as one')
  t.not(refreshed.body.refresh_token, user.first.refresh_token)
  const next = await call(`${url}/v1/refresh`, { body: { refresh_token: refreshed.body.refresh_token } })
  t.equal(next.status, 200, 'and the successor it names is the session\'s current token')
})
