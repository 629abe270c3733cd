import t from 'tap'
import { spawn } from 'node:child_process'
import { parseBearerChallenge } from '@ratchet/shared'
import { call, eventually, freePort, start } from './helpers.js'

t.test('a request without credentials gets 401 with a challenge and no error code', async (t) => {
  const s = await start(t)
  for (const authorization of [undefined, 'Basic dXNlcjpwYXNz']) {
    const res = await call(`${s.url}/v1/me`, authorization !== undefined ? { authorization } : {})
    t.equal(res.status, 401)
    t.equal(res.headers.get('www-authenticate'), 'Bearer realm="ratchet"')
    t.match(res.body, { statusCode: 401, code: 'RATCHET_MISSING_CREDENTIALS', error: 'Unauthorized' })
  }
})

t.test('a malformed Authorization header gets 400 invalid_request', async (t) => {
  const s = await start(t)
  for (const authorization of ['Bearer', 'Bearer a"b', 'Bearer a b']) {
    const res = await call(`${s.url}/v1/me`, { authorization })
    t.equal(res.status, 400, authorization)
    t.match(parseBearerChallenge(res.headers.get('www-authenticate') ?? ''), { error: 'invalid_request' })
    t.match(res.body, { code: 'RATCHET_MALFORMED_AUTHORIZATION' })
  }
})

t.test('the auth scheme is case-insensitive', async (t) => {
  const s = await start(t)
  t.equal((await call(`${s.url}/v1/me`, { authorization: `bearer ${s.token()}` })).status, 200)
  t.equal((await call(`${s.url}/v1/me`, { authorization: `BEARER ${s.token()}` })).status, 200)
})

t.test('a token without the needed scope gets 403 insufficient_scope naming it', async (t) => {
  const s = await start(t)
  const reader = s.token({ scope: 'notes:read' })
  t.equal((await call(`${s.url}/v1/notes`, { token: reader })).status, 200)
  const res = await call(`${s.url}/v1/notes`, { token: reader, body: { text: 'hi' } })
  t.equal(res.status, 403)
  t.match(parseBearerChallenge(res.headers.get('www-authenticate') ?? ''), { error: 'insufficient_scope', scope: 'notes:write' })
  t.match(res.body, { statusCode: 403, code: 'RATCHET_INSUFFICIENT_SCOPE', message: /notes:write/ })
  const none = await call(`${s.url}/v1/notes`, { token: s.token({ scope: '' }) })
  t.equal(none.status, 403)
  t.match(parseBearerChallenge(none.headers.get('www-authenticate') ?? ''), { scope: 'notes:read' })
})

t.test('notes are created, listed per user, and deleted', async (t) => {
  const s = await start(t)
  const alice = s.token({ sub: 'alice' })
  const bob = s.token({ sub: 'bob' })
  const a1 = await call(`${s.url}/v1/notes`, { token: alice, body: { text: 'first' } })
  t.equal(a1.status, 201)
  t.match(a1.body, { id: String, text: 'first', created_at: String })
  const a2 = await call(`${s.url}/v1/notes`, { token: alice, body: { text: 'second ✓' } })
  t.same((await call(`${s.url}/v1/notes`, { token: alice })).body.notes.map((n: { text: string }) => n.text), ['first', 'second ✓'])
  t.same((await call(`${s.url}/v1/notes`, { token: bob })).body, { notes: [] }, 'another user sees none of them')
  t.equal((await call(`${s.url}/v1/notes/${a1.body.id}`, { token: bob, method: 'DELETE' })).status, 404, 'nor deletes them')
  t.equal((await call(`${s.url}/v1/notes/${a1.body.id}`, { token: alice, method: 'DELETE' })).status, 204)
  const gone = await call(`${s.url}/v1/notes/${a1.body.id}`, { token: alice, method: 'DELETE' })
  t.equal(gone.status, 404)
  t.match(gone.body, { code: 'RATCHET_NOTE_NOT_FOUND' })
  t.same((await call(`${s.url}/v1/notes`, { token: alice })).body.notes.map((n: { id: string }) => n.id), [a2.body.id])
})

t.test('note bodies are validated strictly and the error names the field', async (t) => {
  const s = await start(t, { config: { NOTE_MAX_LENGTH: 10 } })
  const token = s.token()
  const cases: Array<[unknown, RegExp]> = [
    [{ text: 42 }, /text/],
    [{ text: '' }, /text/],
    [{ text: 'x'.repeat(11) }, /text/],
    [{ text: 'ok', extra: true }, /additional/],
    [{}, /text/],
    ['[]', /body/]
  ]
  for (const [body, message] of cases) {
    const res = await call(`${s.url}/v1/notes`, { token, body })
    t.equal(res.status, 400, JSON.stringify(body))
    t.match(res.body, { statusCode: 400, code: 'FST_ERR_VALIDATION', message })
  }
  t.equal((await call(`${s.url}/v1/notes`, { token, body: '{"text":' })).status, 400, 'broken JSON')
  t.equal((await call(`${s.url}/v1/notes/${'x'.repeat(100)}`, { token, method: 'DELETE' })).status, 400, 'an id too long')
  t.equal((await call(`${s.url}/v1/notes`, { token, body: { text: 'x'.repeat(10) } })).status, 201)
})

t.test('unknown routes get 404 in the one error shape', async (t) => {
  const s = await start(t)
  const res = await call(`${s.url}/nope`)
  t.equal(res.status, 404)
  t.match(res.body, { statusCode: 404, code: 'RATCHET_NOT_FOUND', error: 'Not Found' })
})

t.test('Redis going away gives 503 on notes and not-ready, and the service recovers when it returns', async (t) => {
  const port = await freePort()
  const startRedis = () => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    return p
  }
  let redis = startRedis()
  t.teardown(() => { redis.kill() })
  const s = await start(t, { config: { REDIS_URL: `redis://127.0.0.1:${port}` } })
  const token = s.token()
  t.equal((await call(`${s.url}/v1/notes`, { token, body: { text: 'before' } })).status, 201)
  redis.kill()
  await eventually(async () => (await call(`${s.url}/health/ready`)).status === 503, 10_000) // not ready without Redis
  t.match((await call(`${s.url}/health/ready`)).body, { message: /Redis/ })
  const down = await call(`${s.url}/v1/notes`, { token })
  t.equal(down.status, 503)
  t.match(down.body, { statusCode: 503, code: 'RATCHET_DEPENDENCY_UNAVAILABLE', message: /Redis/ })
  t.equal(down.headers.get('retry-after'), '1')
  t.equal((await call(`${s.url}/v1/notes`, { token, body: { text: 'during' } })).status, 503)
  t.equal((await call(`${s.url}/v1/me`, { token })).status, 200, 'routes that need no Redis keep working')
  redis = startRedis()
  await eventually(async () => (await call(`${s.url}/health/ready`)).status === 200, 10_000) // ready again
  t.equal((await call(`${s.url}/v1/notes`, { token, body: { text: 'after' } })).status, 201)
})
