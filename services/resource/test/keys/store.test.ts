import t from 'tap'
import { call, claims, eventually, generateKey, signWith, start, startJwks } from '../helpers.js'

t.test('a key rotated in at the auth service is picked up without a restart', async (t) => {
  const jwks = await startJwks(t)
  const s = await start(t, { jwks })
  const next = generateKey('EdDSA')
  const token = signWith(next, { alg: 'EdDSA', kid: next.kid, typ: 'at+jwt' }, claims(s.config))
  t.equal((await call(`${s.url}/v1/me`, { token })).status, 401, 'unknown before it is published')
  jwks.keys = [...jwks.keys, next]
  const res = await call(`${s.url}/v1/me`, { token })
  t.equal(res.status, 200, 'the unknown kid triggered a refresh')
  t.equal((await call(`${s.url}/v1/me`, { token: s.token() })).status, 200, 'the old key still works')
})

t.test('refreshes for unknown kids are rate-limited', async (t) => {
  const jwks = await startJwks(t)
  const s = await start(t, { jwks, build: { jwks: { minRefreshInterval: 60_000, retryInterval: 100 } } })
  const before = jwks.fetches
  for (let i = 0; i < 20; i++) {
    t.equal((await call(`${s.url}/v1/me`, { token: s.token({}, { kid: `made-up-${i}` }) })).status, 401)
  }
  t.ok(jwks.fetches - before <= 1, `at most one fetch for 20 unknown kids (got ${jwks.fetches - before})`)
})

t.test('the service starts while the JWKS is unreachable, is not ready, and becomes ready when keys appear', async (t) => {
  const jwks = await startJwks(t)
  jwks.down = true
  const s = await start(t, { jwks, noWait: true })
  await eventually(() => jwks.fetches >= 2, 10_000) // a retry
  const ready = await call(`${s.url}/health/ready`)
  t.equal(ready.status, 503)
  t.match(ready.body, { code: 'RATCHET_NOT_READY', message: /signing keys/ })
  const res = await call(`${s.url}/v1/me`, { token: s.token() })
  t.equal(res.status, 503, 'without keys a token cannot be judged: our outage, not the client\'s fault')
  t.match(res.body, { code: 'RATCHET_DEPENDENCY_UNAVAILABLE', message: /JWKS/ })
  t.equal((await call(`${s.url}/health/live`)).status, 200)
  jwks.down = false
  await eventually(async () => (await call(`${s.url}/health/ready`)).status === 200, 10_000) // ready once keys load
  t.equal((await call(`${s.url}/v1/me`, { token: s.token() })).status, 200)
})

t.test('a key removed from the JWKS stops verifying, even for tokens in the cache', async (t) => {
  const jwks = await startJwks(t)
  const s = await start(t, { jwks })
  const token = s.token()
  t.equal((await call(`${s.url}/v1/me`, { token })).status, 200)
  jwks.keys = [generateKey()]
  t.ok(await s.app.keys.refresh())
  const res = await call(`${s.url}/v1/me`, { token })
  t.equal(res.status, 401)
  t.match(res.headers.get('www-authenticate'), /unknown key/)
})

t.test('an unusable key set keeps the keys already loaded', async (t) => {
  const jwks = await startJwks(t)
  const s = await start(t, { jwks })
  const good = jwks.keys
  const hmac = { kty: 'oct', k: 'c2VjcmV0', kid: 'h', alg: 'HS256' }
  const p256AsEdDSA = { ...generateKey('ES256').jwk, alg: 'EdDSA' }
  jwks.keys = [{ ...good[0]!, jwk: hmac }, { ...good[0]!, jwk: p256AsEdDSA }]
  t.equal(await s.app.keys.refresh(), false)
  t.same(s.app.keys.kids, [good[0]!.kid])
  t.equal((await call(`${s.url}/v1/me`, { token: s.token() })).status, 200)
})
