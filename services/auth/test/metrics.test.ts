import t from 'tap'
import { randomUUID } from 'node:crypto'
import { call, delta, eventually, freePort, sample, scrape, startAuth, startReady, testConfig, uniqueEmail } from './helpers.js'

async function signup (url: string, email = uniqueEmail(), password = 'metrics-password') {
  const res = await call(`${url}/v1/signup`, { body: { email, password } })
  if (res.status !== 201) throw new Error(`signup failed: ${res.status}`)
  return { email, password, tokens: res.body }
}

// one service for the tests that can share it (building one costs an argon2 warm-up)
const shared = await startReady(t)
const url = shared.url
// and one whose NATS is unreachable, so the relay cannot publish and entries wait in the outbox
const offline = await startAuth(t, { NATS_URL: [`nats://127.0.0.1:${await freePort()}`] })

t.test('/metrics answers in the Prometheus text format with the process metrics', async (t) => {
  const res = await fetch(`${url}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  t.match(text, /# TYPE process_cpu_user_seconds_total counter/)
  t.match(text, /# TYPE nodejs_eventloop_lag_seconds gauge/)
  t.match(text, /# TYPE ratchet_http_request_duration_seconds histogram/)
})

t.test('request latency is labelled by route pattern, method and status, never by the raw URL', async (t) => {
  const before = await scrape(url)
  const { tokens } = await signup(url)
  const sid = randomUUID()
  const res = await call(`${url}/v1/sessions/${sid}`, { method: 'DELETE', token: tokens.access_token })
  t.equal(res.status, 404)
  await call(`${url}/no/such/${sid}`)
  const text = await scrape(url)
  t.equal(delta(before, text, 'ratchet_http_request_duration_seconds_count', { method: 'DELETE', route: '/v1/sessions/:sid', status: '404' }), 1)
  t.equal(delta(before, text, 'ratchet_http_request_duration_seconds_count', { method: 'POST', route: '/v1/signup', status: '201' }), 1)
  t.equal(delta(before, text, 'ratchet_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' }), 1)
  t.ok((sample(text, 'ratchet_http_request_duration_seconds_sum', { method: 'POST', route: '/v1/signup', status: '201' }) ?? 0) > 0, 'the time is recorded')
  t.notOk(text.includes(sid), 'no raw URL in any label')
})

t.test('logins are counted by result: success and failure', async (t) => {
  const { email, password } = await signup(url)
  const before = await scrape(url)
  t.equal((await call(`${url}/v1/login`, { body: { email, password } })).status, 200)
  t.equal((await call(`${url}/v1/login`, { body: { email, password: 'not-the-password' } })).status, 401)
  t.equal((await call(`${url}/v1/login`, { body: { email: uniqueEmail(), password } })).status, 401)
  const text = await scrape(url)
  t.equal(delta(before, text, 'ratchet_auth_logins_total', { result: 'success' }), 1)
  t.equal(delta(before, text, 'ratchet_auth_logins_total', { result: 'failure' }), 2)
})

t.test('refreshes are counted by result, and a reuse is counted as a detection and a revocation', async (t) => {
  t.equal(shared.config.REFRESH_REUSE_GRACE, 10, 'the default grace window')
  const { tokens: r0 } = await signup(url)
  const before = await scrape(url)
  const r1 = await call(`${url}/v1/refresh`, { body: { refresh_token: r0.refresh_token } })
  t.equal(r1.status, 200, 'rotated')
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: r0.refresh_token } })).status, 200, 'the predecessor within the grace window')
  const r2 = await call(`${url}/v1/refresh`, { body: { refresh_token: r1.body.refresh_token } })
  t.equal(r2.status, 200, 'rotated again')
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: r0.refresh_token } })).status, 401, 'no longer the predecessor: reuse')
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: 'a.b.c' } })).status, 401, 'invalid')
  const text = await scrape(url)
  t.equal(delta(before, text, 'ratchet_auth_refreshes_total', { result: 'rotated' }), 2)
  t.equal(delta(before, text, 'ratchet_auth_refreshes_total', { result: 'grace' }), 1)
  t.equal(delta(before, text, 'ratchet_auth_refreshes_total', { result: 'reuse' }), 1)
  t.equal(delta(before, text, 'ratchet_auth_refreshes_total', { result: 'invalid' }), 1)
  t.equal(delta(before, text, 'ratchet_auth_refresh_reuse_detections_total'), 1)
  t.equal(delta(before, text, 'ratchet_auth_revocations_total', { kind: 'session', reason: 'refresh_token_reuse' }), 1)
})

t.test('revocations published by the relay and applied by the consumer are counted', async (t) => {
  // the event counters are per process and other tests' apps may run here: compare deltas
  const before = await scrape(url)
  const published = sample(before, 'ratchet_auth_events_published_total') ?? NaN
  const applied = sample(before, 'ratchet_auth_events_applied_total') ?? NaN
  const { tokens } = await signup(url)
  t.equal((await call(`${url}/v1/logout`, { method: 'POST', token: tokens.access_token })).status, 204)
  await eventually(async () => {
    const text = await scrape(url)
    const p = sample(text, 'ratchet_auth_events_published_total') ?? 0
    const a = sample(text, 'ratchet_auth_events_applied_total') ?? 0
    return p >= published + 1 && a >= applied + 1 ? true : undefined
  })
  t.equal(delta(before, await scrape(url), 'ratchet_auth_revocations_total', { kind: 'session', reason: 'logout' }), 1)
})

t.test('the outbox depth and the age of its oldest entry are read from Redis at scrape time', async (t) => {
  const { url } = offline
  let text = await scrape(url)
  t.equal(sample(text, 'ratchet_auth_outbox_depth'), 0)
  t.equal(sample(text, 'ratchet_auth_outbox_oldest_age_seconds'), 0, 'an empty outbox has no age')
  const { tokens } = await signup(url)
  t.equal((await call(`${url}/v1/logout-all`, { method: 'POST', token: tokens.access_token })).status, 204)
  const second = await signup(url)
  t.equal((await call(`${url}/v1/logout`, { method: 'POST', token: second.tokens.access_token })).status, 204)
  text = await scrape(url)
  t.equal(sample(text, 'ratchet_auth_outbox_depth'), 2, 'the outbox under this service\'s REDIS_PREFIX')
  const age = sample(text, 'ratchet_auth_outbox_oldest_age_seconds') ?? NaN
  t.ok(age >= 0 && age < 60, `the oldest entry is a few moments old (${age})`)
})

t.test('each app has its own registry: another app in the same process does not see its logins', async (t) => {
  const other = offline
  const { email, password } = await signup(url)
  t.equal((await call(`${url}/v1/login`, { body: { email, password } })).status, 200)
  t.ok((sample(await scrape(url), 'ratchet_auth_logins_total', { result: 'success' }) ?? 0) >= 1)
  t.equal(sample(await scrape(other.url), 'ratchet_auth_logins_total', { result: 'success' }), 0)
})

t.test('with METRICS_TOKEN set, /metrics answers only a scrape that sends the token', async (t) => {
  const token = 'scrape-' + randomUUID()
  const locked = await startAuth(t, { METRICS_TOKEN: token })
  for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', `Bearer ${token.slice(0, -1)}`]) {
    const res = await fetch(`${locked.url}/metrics`, { headers: authorization !== undefined ? { authorization } : {} })
    t.equal(res.status, 401, `refused: ${authorization ?? 'no Authorization'}`)
    t.match(await res.json(), { code: 'RATCHET_METRICS_UNAUTHORIZED' })
  }
  const res = await fetch(`${locked.url}/metrics`, { headers: { authorization: `bearer ${token}` } })
  t.equal(res.status, 200)
  t.match(await res.text(), /ratchet_auth_/)
})

t.test('a METRICS_TOKEN shorter than 16 characters is refused at start, naming the variable', async (t) => {
  t.throws(() => testConfig({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN/)
})
