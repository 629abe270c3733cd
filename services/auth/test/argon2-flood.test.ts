import t from 'tap'
import { call, startAuth, uniqueEmail } from './helpers.js'

t.test('a flood of logins gets waits and 503 with Retry-After while health and the JWKS keep answering', async (t) => {
  // one hash at a time, sixteen queued: the other logins of the flood must be turned away
  const { url } = await startAuth(t, { ARGON2_MAX_CONCURRENT: 1 })
  const email = uniqueEmail()
  t.equal((await call(`${url}/v1/signup`, { body: { email, password: 'long-enough' } })).status, 201)

  const total = 60
  let settled = 0
  const flood = Array.from({ length: total }, (_, i) =>
    call(`${url}/v1/login`, { body: { email, password: i % 2 === 0 ? 'long-enough' : 'wrong-password' } }).finally(() => { settled++ }))

  // while the hashes are still being worked through, the event loop is free
  const live = await call(`${url}/health/live`)
  const jwks = await call(`${url}/.well-known/jwks.json`)
  const pending = total - settled
  t.equal(live.status, 200, '/health/live answers during the flood')
  t.equal(jwks.status, 200, 'the JWKS answers during the flood')
  t.ok(jwks.body.keys.length > 0)
  t.ok(pending > 0, `the flood was still in flight (${pending} of ${total} logins pending)`)

  const results = await Promise.all(flood)
  const busy = results.filter((r) => r.status === 503)
  const done = results.filter((r) => r.status === 200 || r.status === 401)
  t.ok(busy.length > 0, `${busy.length} logins were turned away`)
  t.ok(done.length >= 17, `${done.length} logins waited their turn and were answered`)
  t.equal(busy.length + done.length, total, 'nothing else: no 500, no hang')
  for (const r of busy) {
    t.equal(r.body.code, 'RATCHET_BUSY')
    t.equal(r.headers.get('retry-after'), '1')
  }
})
