// The account routes over real sockets against the real Redis (and NATS for the
// events): change password, sign out other devices, the account, deletion, and the
// device list.
import t from 'tap'
import { call, decodeJwt, startAuth, testClock, uniqueEmail } from '../helpers.js'

const PASSWORD = 'a long enough password'
const NEW_PASSWORD = 'another long password'

async function signup (url: string, email = uniqueEmail(), headers: Record<string, string> = {}) {
  const res = await call(`${url}/v1/signup`, { body: { email, password: PASSWORD }, headers })
  if (res.status !== 201) throw new Error(`signup failed: ${res.status}`)
  return { email, ...(res.body as { access_token: string, refresh_token: string, user: { id: string } }) }
}

const login = async (url: string, email: string, headers: Record<string, string> = {}) => await call(`${url}/v1/login`, { body: { email, password: PASSWORD }, headers })

t.test('a password change returns a new session; every earlier one, the caller\'s included, is refused', async (t) => {
  const { url } = await startAuth(t)
  const a = await signup(url)
  const b = (await login(url, a.email)).body
  const res = await call(`${url}/v1/password`, { token: a.access_token, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.match(res.body, { token_type: 'Bearer', access_token: String, refresh_token: String, expires_in: Number })
  t.not(decodeJwt(res.body.access_token).payload.sid, decodeJwt(a.access_token).payload.sid, 'a new session')

  for (const old of [a, b]) {
    t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: old.refresh_token } })).status, 401)
    t.equal((await call(`${url}/v1/sessions`, { token: old.access_token })).status, 401)
  }
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: res.body.refresh_token } })).status, 200)
  t.equal((await login(url, a.email)).status, 401, 'the old password no longer signs in')
  t.equal((await call(`${url}/v1/login`, { body: { email: a.email, password: NEW_PASSWORD } })).status, 200)
})

t.test('a wrong current password gets the login failure\'s status and body, byte for byte', async (t) => {
  const { url } = await startAuth(t)
  const a = await signup(url)
  const failedLogin = await fetch(`${url}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: a.email, password: 'wrong password' }) })
  const expected = await failedLogin.text()
  for (const [method, path, body] of [['POST', '/v1/password', { current_password: 'wrong password', new_password: NEW_PASSWORD }], ['DELETE', '/v1/account', { password: 'wrong password' }]] as const) {
    const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${a.access_token}` }, body: JSON.stringify(body) })
    t.equal(res.status, failedLogin.status, `${method} ${path}`)
    t.equal(await res.text(), expected, `${method} ${path} body`)
  }
  t.equal((await call(`${url}/v1/account`, { token: a.access_token })).status, 200, 'nothing changed')
})

t.test('wrong current passwords count towards the login back-off', async (t) => {
  // a clock that stands still, so the 1 s wait cannot run out however slow the checks are
  const { url } = await startAuth(t, { RATE_LIMITS: 'on', LOGIN_FREE_FAILURES: 2 }, { now: testClock().now })
  const a = await signup(url)
  for (let i = 0; i < 2; i++) {
    const res = await call(`${url}/v1/password`, { token: a.access_token, body: { current_password: 'wrong password', new_password: NEW_PASSWORD } })
    t.equal(res.status, 401)
  }
  const throttled = await login(url, a.email)
  t.equal(throttled.status, 429, 'login now waits')
  t.match(throttled.body, { code: 'RATCHET_LOGIN_THROTTLED' })
  const again = await call(`${url}/v1/password`, { token: a.access_token, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } })
  t.equal(again.status, 429, 'and so does the password change')
  t.match(again.headers.get('retry-after'), /^\d+$/)
})

t.test('the new password follows the sign-up rules', async (t) => {
  const { url } = await startAuth(t)
  const a = await signup(url)
  const short = await call(`${url}/v1/password`, { token: a.access_token, body: { current_password: PASSWORD, new_password: 'short' } })
  t.equal(short.status, 400)
  t.match(short.body.message, /new_password/)
  const extra = await call(`${url}/v1/password`, { token: a.access_token, body: { current_password: PASSWORD, new_password: NEW_PASSWORD, email: a.email } })
  t.equal(extra.status, 400)
  const noToken = await call(`${url}/v1/password`, { body: { current_password: PASSWORD, new_password: NEW_PASSWORD } })
  t.equal(noToken.status, 401)
  t.match(noToken.headers.get('www-authenticate'), /^Bearer realm=/)
})

t.test('logout-others keeps exactly the caller\'s session', async (t) => {
  const { url } = await startAuth(t)
  const a = await signup(url)
  const b = (await login(url, a.email)).body
  const c = (await login(url, a.email)).body
  const res = await call(`${url}/v1/logout-others`, { method: 'POST', token: b.access_token })
  t.equal(res.status, 204)
  for (const other of [a, c]) t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: other.refresh_token } })).status, 401)
  const list = await call(`${url}/v1/sessions`, { token: b.access_token })
  t.same(list.body.sessions.map((s: { sid: string, current: boolean }) => [s.sid, s.current]), [[decodeJwt(b.access_token).payload.sid, true]])
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: b.refresh_token } })).status, 200)
  t.equal((await call(`${url}/v1/logout-others`, { method: 'POST', token: a.access_token })).status, 401, 'an ended session cannot sign the others out')
})

t.test('GET /v1/account names the account; DELETE ends it, twice is a 401, and the address is free again', async (t) => {
  const { url } = await startAuth(t)
  const a = await signup(url)
  const b = (await login(url, a.email)).body
  const account = await call(`${url}/v1/account`, { token: a.access_token })
  t.equal(account.status, 200)
  t.same(Object.keys(account.body).sort(), ['created_at', 'email', 'id'])
  t.match(account.body, { id: a.user.id, email: a.email, created_at: Number })

  const del = await call(`${url}/v1/account`, { method: 'DELETE', token: a.access_token, body: { password: PASSWORD } })
  t.equal(del.status, 204)
  const twice = await call(`${url}/v1/account`, { method: 'DELETE', token: a.access_token, body: { password: PASSWORD } })
  t.equal(twice.status, 401)
  t.match(twice.headers.get('www-authenticate'), /invalid_token/)
  for (const token of [a.access_token, b.access_token]) t.equal((await call(`${url}/v1/account`, { token })).status, 401)
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: b.refresh_token } })).status, 401)
  t.equal((await login(url, a.email)).status, 401)
  const again = await call(`${url}/v1/signup`, { body: { email: a.email, password: PASSWORD } })
  t.equal(again.status, 201)
  t.not(again.body.user.id, a.user.id)
})

t.test('the session list shows the user agent and the address a login came with', async (t) => {
  const { url } = await startAuth(t)
  const a = await signup(url, uniqueEmail(), { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' })
  await login(url, a.email, { 'user-agent': 'x'.repeat(5000) })
  const list = await call(`${url}/v1/sessions`, { token: a.access_token, headers: { 'user-agent': 'not the login one' } })
  t.equal(list.status, 200)
  const [newest, oldest] = list.body.sessions
  t.match(oldest, { sid: decodeJwt(a.access_token).payload.sid, current: true, user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0', ip: '127.0.0.1', client_id: 'first-party' })
  t.equal(newest.user_agent, 'x'.repeat(200), 'trimmed')
  t.equal(newest.current, false)
  for (const s of list.body.sessions) {
    t.ok(s.created_at <= s.last_used_at && s.last_used_at < s.expires_at, 'times in order')
  }
})

t.test('behind a trusted proxy, the address is the forwarded one; from anyone else it is not', async (t) => {
  const trusting = await startAuth(t, { TRUST_PROXY: '127.0.0.1' })
  const plain = await startAuth(t)
  const headers = { 'x-forwarded-for': '203.0.113.7' }
  for (const [server, ip] of [[trusting, '203.0.113.7'], [plain, '127.0.0.1']] as const) {
    const a = await signup(server.url, uniqueEmail(), headers)
    const list = await call(`${server.url}/v1/sessions`, { token: a.access_token })
    t.equal(list.body.sessions[0].ip, ip)
  }
})

t.test('GET /v1/sessions pages with ?limit and ?cursor, newest first', async (t) => {
  const { url } = await startAuth(t)
  const a = await signup(url)
  const logins = [a, (await login(url, a.email)).body, (await login(url, a.email)).body]
  const newestFirst = logins.map((l) => decodeJwt(l.access_token).payload.sid).reverse()
  const first = await call(`${url}/v1/sessions?limit=2`, { token: a.access_token })
  t.equal(first.status, 200)
  t.same(first.body.sessions.map((s: { sid: string }) => s.sid), newestFirst.slice(0, 2))
  t.type(first.body.next_cursor, 'string')
  const second = await call(`${url}/v1/sessions?limit=2&cursor=${first.body.next_cursor}`, { token: a.access_token })
  t.same(second.body.sessions.map((s: { sid: string }) => s.sid), newestFirst.slice(2))
  t.equal(second.body.next_cursor, null)
  const all = await call(`${url}/v1/sessions`, { token: a.access_token })
  t.equal(all.body.sessions.length, 3)
  t.equal(all.body.next_cursor, null)

  for (const query of ['limit=0', 'limit=101', 'limit=abc', 'cursor=%2F%2F', 'cursor=bm9wZQ', 'page=2']) {
    const bad = await call(`${url}/v1/sessions?${query}`, { token: a.access_token })
    t.equal(bad.status, 400, query)
    t.match(bad.body.message, /querystring/, `${query}: the message names the parameter`)
  }
})
