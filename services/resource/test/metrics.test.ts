import t from 'tap'
import { randomUUID } from 'node:crypto'
import { call, claims, delta, eventually, generateKey, publish, sample, scrape, signWith, start } from './helpers.js'

const s = await start(t)

t.test('/metrics answers in the Prometheus text format with the process metrics', async (t) => {
  const res = await fetch(`${s.url}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  t.match(text, /# TYPE process_resident_memory_bytes gauge/)
  t.match(text, /# TYPE ratchet_http_request_duration_seconds histogram/)
  t.equal(sample(text, 'ratchet_resource_revocations_caught_up'), 1)
})

t.test('request latency is labelled by route pattern, method and status, never by the raw URL', async (t) => {
  const before = await scrape(s.url)
  const id = randomUUID()
  t.equal((await call(`${s.url}/v1/notes/${id}`, { method: 'DELETE', token: s.token() })).status, 404)
  t.equal((await call(`${s.url}/v1/me`)).status, 401)
  await call(`${s.url}/not/here/${id}`)
  const text = await scrape(s.url)
  t.equal(delta(before, text, 'ratchet_http_request_duration_seconds_count', { method: 'DELETE', route: '/v1/notes/:id', status: '404' }), 1)
  t.equal(delta(before, text, 'ratchet_http_request_duration_seconds_count', { method: 'GET', route: '/v1/me', status: '401' }), 1)
  t.equal(delta(before, text, 'ratchet_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' }), 1)
  t.notOk(text.includes(id), 'no raw URL in any label')
})

t.test('the verification cache counts a miss, then hits for the same token', async (t) => {
  const before = await scrape(s.url)
  const token = s.token()
  for (let i = 0; i < 3; i++) t.equal((await call(`${s.url}/v1/me`, { token })).status, 200)
  const text = await scrape(s.url)
  t.equal(delta(before, text, 'ratchet_resource_token_cache_lookups_total', { result: 'miss' }), 1)
  t.equal(delta(before, text, 'ratchet_resource_token_cache_lookups_total', { result: 'hit' }), 2)
  t.ok(delta(before, text, 'ratchet_resource_token_cache_entries') >= 1, 'the token is held')
})

t.test('revocations applied and the revocation-list size follow the events', async (t) => {
  const before = await scrape(s.url)
  await publish(s.nc, s.config, 'session.revoked', { id: randomUUID(), sid: randomUUID(), sub: 'u1', reason: 'logout', at: Date.now() / 1000 })
  await publish(s.nc, s.config, 'user.revoked', { id: randomUUID(), sub: `u-${randomUUID()}`, before: Date.now() / 1000, reason: 'logout_all', at: Date.now() / 1000 })
  let text = ''
  await eventually(async () => {
    text = await scrape(s.url)
    return delta(before, text, 'ratchet_resource_revocations_applied_total') === 2
  }, 10_000) // two revocations applied
  t.equal(delta(before, text, 'ratchet_resource_revocation_list_size', { kind: 'sessions' }), 1)
  t.equal(delta(before, text, 'ratchet_resource_revocation_list_size', { kind: 'users' }), 1)
})

t.test('JWKS refreshes are counted, and so are the ones that fail', async (t) => {
  const before = await scrape(s.url)
  t.equal(sample(before, 'ratchet_resource_jwks_keys'), 1)
  // a token naming a kid we do not know makes the service fetch the JWKS again
  const stranger = generateKey('ES256')
  const forged = signWith(stranger, { alg: 'ES256', kid: stranger.kid, typ: 'at+jwt' }, claims(s.config))
  t.equal((await call(`${s.url}/v1/me`, { token: forged })).status, 401)
  let text = await scrape(s.url)
  t.equal(delta(before, text, 'ratchet_resource_jwks_refreshes_total'), 1)
  t.equal(delta(before, text, 'ratchet_resource_jwks_refresh_failures_total'), 0)
  s.jwks.down = true
  t.teardown(() => { s.jwks.down = false })
  t.equal((await call(`${s.url}/v1/me`, { token: forged })).status, 401)
  text = await scrape(s.url)
  t.equal(delta(before, text, 'ratchet_resource_jwks_refresh_failures_total'), 1)
  t.equal(sample(text, 'ratchet_resource_jwks_keys'), 1, 'the keys held are kept')
})

t.test('each app has its own registry: another app in the same process does not see its cache hits', async (t) => {
  const other = await start(t)
  const token = s.token()
  await call(`${s.url}/v1/me`, { token })
  await call(`${s.url}/v1/me`, { token })
  t.ok((sample(await scrape(s.url), 'ratchet_resource_token_cache_lookups_total', { result: 'hit' }) ?? 0) >= 1)
  t.equal(sample(await scrape(other.url), 'ratchet_resource_token_cache_lookups_total', { result: 'hit' }), 0)
})

t.test('with METRICS_TOKEN set, /metrics answers only a scrape that sends the token', async (t) => {
  const token = 'scrape-' + randomUUID()
  const locked = await start(t, { config: { METRICS_TOKEN: token } })
  for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', `Basic ${token}`, `Bearer ${token}x`]) {
    const res = await fetch(`${locked.url}/metrics`, { headers: authorization !== undefined ? { authorization } : {} })
    t.equal(res.status, 401, `refused: ${authorization ?? 'no Authorization'}`)
    t.match(await res.json(), { code: 'RATCHET_METRICS_UNAUTHORIZED' })
    t.match(res.headers.get('www-authenticate'), /^Bearer /)
  }
  const res = await fetch(`${locked.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200)
  t.match(await res.text(), /# TYPE ratchet_http_request_duration_seconds histogram/)
  // the open default stays open
  t.equal((await fetch(`${s.url}/metrics`)).status, 200)
})
