import t from 'tap'
import { call, decodeJwt, eventually, startSystem, uniqueEmail } from './support.js'

// The whole numbered flow of DESIGN.md across both services, over real ports.
t.test('sign up, call, expire, refresh with both tokens, call again, log out', async (t) => {
  // exp counts from a whole-second iat, so a 2 s token lives at least 1 s
  const sys = await startSystem(t, { ACCESS_TOKEN_TTL: 2, CLOCK_LEEWAY: 0 })

  // 1-2: sign up; a token pair comes back
  const signup = await call(`${sys.auth}/v1/signup`, { body: { email: uniqueEmail(), password: 'a long enough password' } })
  t.equal(signup.status, 201)
  const { access_token: access, refresh_token: refresh } = signup.body

  // 3-4: the resource service verifies the access token on its own
  const me = await call(`${sys.resource}/v1/me`, { token: access })
  t.equal(me.status, 200)
  t.match(me.body, { sub: signup.body.user.id, sid: decodeJwt(access).payload.sid, scope: 'notes:read notes:write' })
  const note = await call(`${sys.resource}/v1/notes`, { token: access, body: { text: 'remember the milk' } })
  t.equal(note.status, 201)

  // 5: once expired, an RFC 6750 answer that says so
  const expired = await eventually(async () => {
    const res = await call(`${sys.resource}/v1/me`, { token: access })
    return res.status === 401 ? res : undefined
  }, 5000, 100)
  t.match(expired.headers.get('www-authenticate'), /^Bearer realm="[^"]+", error="invalid_token", error_description="The access token expired"/)

  // 6: refresh with both tokens: a new pair (rotation)
  const refreshed = await call(`${sys.auth}/v1/refresh`, { body: { refresh_token: refresh, access_token: access } })
  t.equal(refreshed.status, 200)
  t.not(refreshed.body.refresh_token, refresh)
  const again = await call(`${sys.resource}/v1/notes`, { token: refreshed.body.access_token })
  t.equal(again.status, 200)
  t.match(again.body, { notes: [{ text: 'remember the milk' }] })

  // 7: logout; the broadcast makes the resource service reject the session at once
  const out = await call(`${sys.auth}/v1/logout`, { method: 'POST', token: refreshed.body.access_token })
  t.equal(out.status, 204)
  const started = Date.now()
  const rejected = await eventually(async () => {
    const res = await call(`${sys.resource}/v1/me`, { token: refreshed.body.access_token })
    return res.status === 401 ? res : undefined
  }, 5000, 2)
  t.comment(`logout reached the resource service in ${Date.now() - started} ms`)
  t.match(rejected.headers.get('www-authenticate'), /error="invalid_token", error_description="[^"]*revoked/)
  t.equal((await call(`${sys.auth}/v1/refresh`, { body: { refresh_token: refreshed.body.refresh_token } })).status, 401)
})

t.test('a resource service started after a logout rejects that session (replay)', async (t) => {
  const sys = await startSystem(t, { ACCESS_TOKEN_TTL: 60 })
  const signup = await call(`${sys.auth}/v1/signup`, { body: { email: uniqueEmail(), password: 'a long enough password' } })
  t.equal((await call(`${sys.resource}/v1/me`, { token: signup.body.access_token })).status, 200)
  await sys.stopResource()
  t.equal((await call(`${sys.auth}/v1/logout`, { method: 'POST', token: signup.body.access_token })).status, 204)
  await new Promise((resolve) => setTimeout(resolve, 200))
  const restarted = await sys.startResource()
  const res = await call(`${restarted}/v1/me`, { token: signup.body.access_token })
  t.equal(res.status, 401)
  t.match(res.headers.get('www-authenticate'), /revoked/)
})

t.test('logout-all at the auth service ends older sessions at the resource service, not a newer login', async (t) => {
  const sys = await startSystem(t, { ACCESS_TOKEN_TTL: 60 })
  const email = uniqueEmail()
  const first = await call(`${sys.auth}/v1/signup`, { body: { email, password: 'a long enough password' } })
  const second = await call(`${sys.auth}/v1/login`, { body: { email, password: 'a long enough password' } })
  t.equal((await call(`${sys.auth}/v1/logout-all`, { method: 'POST', token: second.body.access_token })).status, 204)
  const third = await call(`${sys.auth}/v1/login`, { body: { email, password: 'a long enough password' } })
  for (const old of [first.body.access_token, second.body.access_token]) {
    const res = await eventually(async () => {
      const r = await call(`${sys.resource}/v1/me`, { token: old })
      return r.status === 401 ? r : undefined
    }, 5000, 10)
    t.equal(res.status, 401)
  }
  t.equal((await call(`${sys.resource}/v1/me`, { token: third.body.access_token })).status, 200)
})
