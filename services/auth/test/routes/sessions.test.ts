import t from 'tap'
import { call, decodeJwt, startAuth, uniqueEmail } from '../helpers.js'

async function account (url: string) {
  const email = uniqueEmail()
  const password = 'sessions-password'
  const first = (await call(`${url}/v1/signup`, { body: { email, password } })).body
  const login = async () => (await call(`${url}/v1/login`, { body: { email, password } })).body
  return { first, login }
}

t.test('the user sees their active sessions and which one is current', async (t) => {
  const { url } = await startAuth(t)
  const { first, login } = await account(url)
  const second = await login()
  const res = await call(`${url}/v1/sessions`, { token: second.access_token })
  t.equal(res.status, 200)
  t.equal(res.body.sessions.length, 2)
  const current = res.body.sessions.find((s: { current: boolean }) => s.current)
  t.equal(current.sid, decodeJwt(second.access_token).payload.sid)
  t.ok(res.body.sessions.some((s: { sid: string }) => s.sid === decodeJwt(first.access_token).payload.sid))
})

t.test('deleting a session ends it; a stranger\'s sid is 404', async (t) => {
  const { url } = await startAuth(t)
  const { first, login } = await account(url)
  const second = await login()
  const other = await account(url)
  const sid = decodeJwt(first.access_token).payload.sid
  const del = await call(`${url}/v1/sessions/${sid}`, { method: 'DELETE', token: second.access_token })
  t.equal(del.status, 204)
  const refresh = await call(`${url}/v1/refresh`, { body: { refresh_token: first.refresh_token } })
  t.equal(refresh.status, 401)
  const foreign = await call(`${url}/v1/sessions/${decodeJwt(other.first.access_token).payload.sid}`, { method: 'DELETE', token: second.access_token })
  t.equal(foreign.status, 404)
  const otherStillAlive = await call(`${url}/v1/refresh`, { body: { refresh_token: other.first.refresh_token } })
  t.equal(otherStillAlive.status, 200)
})

t.test('logout-all ends every session that started before it, and a login right after survives', async (t) => {
  const { url } = await startAuth(t)
  const { first, login } = await account(url)
  const second = await login()
  const out = await call(`${url}/v1/logout-all`, { method: 'POST', token: second.access_token })
  t.equal(out.status, 204)
  t.equal(out.headers.get('clear-site-data'), null, 'the site\'s other cookies are not ours to clear')
  for (const s of [first, second]) {
    t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: s.refresh_token } })).status, 401)
  }
  const third = await login()
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: third.refresh_token } })).status, 200)
})

t.test('logout accepts an expired access token', async (t) => {
  const { url } = await startAuth(t, { ACCESS_TOKEN_TTL: 1, CLOCK_LEEWAY: 0 })
  const { first } = await account(url)
  await new Promise((resolve) => setTimeout(resolve, 2100))
  const out = await call(`${url}/v1/logout`, { method: 'POST', token: first.access_token })
  t.equal(out.status, 204)
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: first.refresh_token } })).status, 401)
})

t.test('logout accepts a refresh token of the session that was already rotated out', async (t) => {
  const { url } = await startAuth(t)
  const { first } = await account(url)
  const rotated = (await call(`${url}/v1/refresh`, { body: { refresh_token: first.refresh_token } })).body
  const out = await call(`${url}/v1/logout`, { body: { refresh_token: first.refresh_token } })
  t.equal(out.status, 204)
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: rotated.refresh_token } })).status, 401)
})

t.test('logout without credentials is 401, with a forged token 401 invalid_token', async (t) => {
  const { url } = await startAuth(t)
  const { first } = await account(url)
  const none = await call(`${url}/v1/logout`, { method: 'POST' })
  t.equal(none.status, 401)
  const [h, p] = first.access_token.split('.')
  const forged = await call(`${url}/v1/logout`, { method: 'POST', token: `${h}.${p}.AAAA` })
  t.equal(forged.status, 401)
  t.match(forged.headers.get('www-authenticate'), /error="invalid_token"/)
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: first.refresh_token } })).status, 200, 'the session survived the forged logout')
})

t.test('a revoked session\'s access token cannot list sessions', async (t) => {
  const { url } = await startAuth(t)
  const { first } = await account(url)
  await call(`${url}/v1/logout`, { method: 'POST', token: first.access_token })
  const res = await call(`${url}/v1/sessions`, { token: first.access_token })
  t.equal(res.status, 401)
  t.match(res.headers.get('www-authenticate'), /revoked/)
})
