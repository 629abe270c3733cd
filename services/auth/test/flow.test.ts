import t from 'tap'
import { call, decodeJwt, startAuth, uniqueEmail } from './helpers.js'

t.test('sign-up returns 201 with a signed-in token response and the user', async (t) => {
  const { url, config } = await startAuth(t)
  const email = uniqueEmail()
  const res = await call(`${url}/v1/signup`, { body: { email: `  ${email.toUpperCase()} `, password: 'correct horse battery' } })
  t.equal(res.status, 201)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.match(res.body, { token_type: 'Bearer', expires_in: config.ACCESS_TOKEN_TTL, refresh_token_expires_in: config.REFRESH_TOKEN_TTL, user: { email } })
  const access = decodeJwt(res.body.access_token)
  t.match(access.header, { typ: 'at+jwt', alg: 'ES256' })
  t.type(access.header.kid, 'string')
  t.match(access.payload, { iss: config.ISSUER, aud: config.AUDIENCE, sub: res.body.user.id, client_id: 'first-party', scope: 'notes:read notes:write' })
  t.ok(access.payload.exp - access.payload.iat >= config.ACCESS_TOKEN_TTL && access.payload.exp - access.payload.iat <= config.ACCESS_TOKEN_TTL + 1, 'lives at least expires_in')
  t.type(access.payload.sid, 'string')
  t.type(access.payload.jti, 'string')
  t.type(access.payload.auth_time, 'number')
  const refresh = decodeJwt(res.body.refresh_token)
  t.match(refresh.header, { typ: 'rt+jwt', alg: 'HS256' })
  t.match(refresh.payload, { aud: config.ISSUER, sub: res.body.user.id, sid: access.payload.sid })
})

t.test('an address can sign up once; the second gets 409', async (t) => {
  const { url } = await startAuth(t)
  const email = uniqueEmail()
  const [a, b] = await Promise.all([
    call(`${url}/v1/signup`, { body: { email, password: 'password-one' } }),
    call(`${url}/v1/signup`, { body: { email: email.toUpperCase(), password: 'password-two' } })
  ])
  t.same([a.status, b.status].sort(), [201, 409])
})

t.test('login, refresh, and logout work over HTTP', async (t) => {
  const { url } = await startAuth(t)
  const email = uniqueEmail()
  await call(`${url}/v1/signup`, { body: { email, password: 'hunter2hunter2' } })
  const login = await call(`${url}/v1/login`, { body: { email, password: 'hunter2hunter2' } })
  t.equal(login.status, 200)
  const refreshed = await call(`${url}/v1/refresh`, { body: { refresh_token: login.body.refresh_token, access_token: login.body.access_token } })
  t.equal(refreshed.status, 200)
  t.not(refreshed.body.refresh_token, login.body.refresh_token, 'the refresh token rotates')
  t.equal(decodeJwt(refreshed.body.access_token).payload.sid, decodeJwt(login.body.access_token).payload.sid, 'same session')
  const out = await call(`${url}/v1/logout`, { method: 'POST', token: refreshed.body.access_token })
  t.equal(out.status, 204)
  const after = await call(`${url}/v1/refresh`, { body: { refresh_token: refreshed.body.refresh_token } })
  t.equal(after.status, 401)
  t.match(after.body, { code: 'RATCHET_INVALID_REFRESH_TOKEN', message: /session has ended/ })
})
