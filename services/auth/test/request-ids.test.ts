import t from 'tap'
import { Writable } from 'node:stream'
import { call, dropStream, startAuth, uniqueEmail } from './helpers.js'
import { redactPaths } from '../src/app.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

// one service with its log lines captured as parsed JSON
const lines: Array<Record<string, unknown>> = []
const stream = new Writable({ write (chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l)); cb() } })
const s = await startAuth(t, {}, { logger: { level: 'info', stream, redact: redactPaths } })
t.teardown(() => dropStream(s.config.NATS_URL, s.config.NATS_STREAM))

const linesOf = (reqId: string | null) => lines.filter((l) => l.reqId === reqId)

t.test('a failed login is one log line naming the request, and its body does not depend on why it failed', async (t) => {
  const email = uniqueEmail()
  t.equal((await call(`${s.url}/v1/signup`, { body: { email, password: 'request-id-password' } })).status, 201)
  const wrong = await fetch(`${s.url}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'not-the-password' }) })
  const unknown = await fetch(`${s.url}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: uniqueEmail(), password: 'not-the-password' }) })
  t.same([wrong.status, unknown.status], [401, 401])
  t.equal(await wrong.text(), await unknown.text(), 'byte-for-byte the same body: no request id in it')
  const ids = [wrong.headers.get('x-request-id'), unknown.headers.get('x-request-id')]
  for (const id of ids) t.match(id, UUID)
  t.not(ids[0], ids[1])
  for (const id of ids) {
    t.equal(linesOf(id).filter((l) => l.event === 'login_failed').length, 1, 'one login_failed line for the request')
  }
  t.notOk(JSON.stringify(lines).includes('not-the-password'), 'no password in the logs')
})

t.test('a refresh-token reuse is one line for the detection and one for the revocation, none with a token', async (t) => {
  const first = await call(`${s.url}/v1/signup`, { body: { email: uniqueEmail(), password: 'request-id-password' } })
  const r1 = await call(`${s.url}/v1/refresh`, { body: { refresh_token: first.body.refresh_token } })
  const r2 = await call(`${s.url}/v1/refresh`, { body: { refresh_token: r1.body.refresh_token } })
  t.equal(r2.status, 200)
  // first.refresh_token is two rotations back: no longer the predecessor, so this is theft
  const replay = await call(`${s.url}/v1/refresh`, { body: { refresh_token: first.body.refresh_token } })
  t.equal(replay.status, 401)
  const mine = linesOf(replay.headers.get('x-request-id'))
  t.equal(mine.filter((l) => l.event === 'refresh_token_reuse').length, 1)
  t.match(mine.filter((l) => l.event === 'session_revoked'), [{ reason: 'refresh_token_reuse' }])
  const all = JSON.stringify(lines)
  for (const token of [first.body.refresh_token, r1.body.refresh_token, r2.body.access_token]) {
    t.notOk(all.includes(token.split('.')[2]), 'no token in the logs')
  }
})

t.test('a logout is one revocation line naming the request', async (t) => {
  const session = await call(`${s.url}/v1/signup`, { body: { email: uniqueEmail(), password: 'request-id-password' } })
  const res = await call(`${s.url}/v1/logout`, { method: 'POST', token: session.body.access_token })
  t.equal(res.status, 204)
  t.match(linesOf(res.headers.get('x-request-id')).filter((l) => l.event === 'session_revoked'), [{ reason: 'logout', sid: String, sub: session.body.user.id }])
})

t.test('an unknown route answers with the x-request-id header and no id in its body', async (t) => {
  const res = await call(`${s.url}/nowhere`)
  t.equal(res.status, 404)
  t.match(res.headers.get('x-request-id'), UUID)
  t.notOk(res.body.requestId)
})
