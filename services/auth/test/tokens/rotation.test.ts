import t from 'tap'
import { redisKeys } from '@ratchet/shared'
import { call, decodeJwt, startAuth, testRedis, uniqueEmail } from '../helpers.js'

async function signup (url: string) {
  const res = await call(`${url}/v1/signup`, { body: { email: uniqueEmail(), password: 'rotation-password' } })
  if (res.status !== 201) throw new Error(`signup failed: ${res.status}`)
  return res.body
}

/** A clock the test moves; Redis TTLs still follow real time. */
function testClock () {
  let offset = 0
  return { now: () => Date.now() + offset, advance: (ms: number) => { offset += ms } }
}

t.test('each refresh rotates: the new refresh token works once, the old one is spent', async (t) => {
  const { url } = await startAuth(t)
  const first = await signup(url)
  const second = await call(`${url}/v1/refresh`, { body: { refresh_token: first.refresh_token } })
  t.equal(second.status, 200)
  const third = await call(`${url}/v1/refresh`, { body: { refresh_token: second.body.refresh_token } })
  t.equal(third.status, 200)
  t.not(third.body.refresh_token, second.body.refresh_token)
  t.not(decodeJwt(third.body.refresh_token).payload.jti, decodeJwt(second.body.refresh_token).payload.jti)
})

t.test('a rotated-out refresh token outside the grace window revokes the whole session', async (t) => {
  const clock = testClock()
  const { url } = await startAuth(t, { REFRESH_REUSE_GRACE: 10 }, { now: clock.now })
  const first = await signup(url)
  const second = await call(`${url}/v1/refresh`, { body: { refresh_token: first.refresh_token } })
  t.equal(second.status, 200)
  clock.advance(11_000)
  const replay = await call(`${url}/v1/refresh`, { body: { refresh_token: first.refresh_token } })
  t.equal(replay.status, 401)
  t.match(replay.body, { code: 'RATCHET_INVALID_REFRESH_TOKEN', message: /already used.*revoked/ })
  const legit = await call(`${url}/v1/refresh`, { body: { refresh_token: second.body.refresh_token } })
  t.equal(legit.status, 401, 'the current token of the session dies with it')
  t.match(legit.body, { message: /session has ended/ })
})

t.test('within the grace window, racing refreshes with one token all get the same successor', async (t) => {
  const { url } = await startAuth(t, { REFRESH_REUSE_GRACE: 10 })
  const first = await signup(url)
  const results = await Promise.all(Array.from({ length: 8 }, () => call(`${url}/v1/refresh`, { body: { refresh_token: first.refresh_token } })))
  t.same(results.map((r) => r.status), Array(8).fill(200))
  const successors = new Set(results.map((r) => r.body.refresh_token))
  t.equal(successors.size, 1, 'one successor: the chain never forks')
  const accessTokens = new Set(results.map((r) => r.body.access_token))
  t.equal(accessTokens.size, 8, 'each caller still gets its own access token')
  const next = await call(`${url}/v1/refresh`, { body: { refresh_token: [...successors][0] } })
  t.equal(next.status, 200, 'the successor is the session\'s current token')
})

t.test('only the immediate predecessor qualifies for the grace window', async (t) => {
  const { url } = await startAuth(t, { REFRESH_REUSE_GRACE: 10 })
  const r0 = await signup(url)
  const r1 = await call(`${url}/v1/refresh`, { body: { refresh_token: r0.refresh_token } })
  const r2 = await call(`${url}/v1/refresh`, { body: { refresh_token: r1.body.refresh_token } })
  t.equal(r2.status, 200)
  const replay = await call(`${url}/v1/refresh`, { body: { refresh_token: r0.refresh_token } })
  t.equal(replay.status, 401, 'a grandparent token is theft even seconds later')
})

t.test('the grace window counts from the rotation and does not slide', async (t) => {
  const clock = testClock()
  const { url } = await startAuth(t, { REFRESH_REUSE_GRACE: 10 }, { now: clock.now })
  const r0 = await signup(url)
  const r1 = await call(`${url}/v1/refresh`, { body: { refresh_token: r0.refresh_token } })
  clock.advance(6_000)
  const retry1 = await call(`${url}/v1/refresh`, { body: { refresh_token: r0.refresh_token } })
  t.equal(retry1.status, 200)
  t.equal(retry1.body.refresh_token, r1.body.refresh_token)
  clock.advance(6_000)
  const retry2 = await call(`${url}/v1/refresh`, { body: { refresh_token: r0.refresh_token } })
  t.equal(retry2.status, 401, '12 s after the rotation the retry is reuse, despite the retry at 6 s')
})

t.test('the access token sent with a refresh must belong to the same session; its expiry is ignored', async (t) => {
  const { url } = await startAuth(t, { ACCESS_TOKEN_TTL: 1, CLOCK_LEEWAY: 0 })
  const a = await signup(url)
  const b = await signup(url)
  const mixed = await call(`${url}/v1/refresh`, { body: { refresh_token: a.refresh_token, access_token: b.access_token } })
  t.equal(mixed.status, 401)
  t.match(mixed.body, { message: /another session/ })
  const tampered = a.access_token.slice(0, -4) + (a.access_token.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  const forged = await call(`${url}/v1/refresh`, { body: { refresh_token: a.refresh_token, access_token: tampered } })
  t.equal(forged.status, 401)
  await new Promise((resolve) => setTimeout(resolve, 2100))
  const ok = await call(`${url}/v1/refresh`, { body: { refresh_token: a.refresh_token, access_token: a.access_token } })
  t.equal(ok.status, 200, 'an expired access token of the same session is accepted')
})

t.test('idle expiry is renewed by rotation but the absolute maximum is never extended', async (t) => {
  const clock = testClock()
  const { url, config } = await startAuth(t, { REFRESH_TOKEN_TTL: 50, SESSION_MAX_AGE: 60 }, { now: clock.now })
  const r0 = await signup(url)
  t.equal(r0.refresh_token_expires_in, 50)
  clock.advance(30_000)
  const r1 = await call(`${url}/v1/refresh`, { body: { refresh_token: r0.refresh_token } })
  t.equal(r1.status, 200)
  t.ok(r1.body.refresh_token_expires_in <= 30 && r1.body.refresh_token_expires_in >= 29, `capped by the session's age: ${r1.body.refresh_token_expires_in}`)
  const claims = decodeJwt(r1.body.refresh_token).payload
  t.ok(claims.exp <= Math.floor(decodeJwt(r0.refresh_token).payload.iat + 60), 'the token never outlives its session')
  const redis = testRedis(config.REDIS_URL)
  t.teardown(() => { redis.disconnect() })
  // absolute, because the test clock runs ahead of Redis's own
  const expiresAt = Number(await redis.call('PEXPIRETIME', config.REDIS_PREFIX + redisKeys.session(claims.sub, claims.sid)))
  const startedAt = Math.round(decodeJwt(r1.body.access_token).payload.auth_time * 1000)
  t.equal(expiresAt, startedAt + 60_000, 'the session key expires at the absolute maximum, not idle time after the rotation')
  clock.advance(31_000)
  const late = await call(`${url}/v1/refresh`, { body: { refresh_token: r1.body.refresh_token } })
  t.equal(late.status, 401)
  t.match(late.body, { message: /session has ended/ })
})

t.test('a refresh racing a logout never mints a token that outlives the logout', async (t) => {
  const { url } = await startAuth(t)
  for (let i = 0; i < 15; i++) {
    const s = await signup(url)
    const [refreshed, out] = await Promise.all([
      call(`${url}/v1/refresh`, { body: { refresh_token: s.refresh_token } }),
      call(`${url}/v1/logout`, { body: { refresh_token: s.refresh_token } })
    ])
    t.equal(out.status, 204)
    if (refreshed.status === 200) {
      const again = await call(`${url}/v1/refresh`, { body: { refresh_token: refreshed.body.refresh_token } })
      t.equal(again.status, 401, 'the token minted in the race is dead after the logout')
    } else {
      t.equal(refreshed.status, 401)
    }
  }
})

t.test('a refresh token is not an access token, nor the reverse', async (t) => {
  const { url } = await startAuth(t)
  const s = await signup(url)
  const asRefresh = await call(`${url}/v1/refresh`, { body: { refresh_token: s.access_token } })
  t.equal(asRefresh.status, 401)
  const asAccess = await call(`${url}/v1/sessions`, { token: s.refresh_token })
  t.equal(asAccess.status, 401)
  t.match(asAccess.headers.get('www-authenticate'), /error="invalid_token"/)
})
