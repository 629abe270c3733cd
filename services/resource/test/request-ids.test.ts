import t from 'tap'
import { Writable } from 'node:stream'
import { randomUUID } from 'node:crypto'
import { call, eventually, publish, start } from './helpers.js'
import { redactPaths } from '../src/app.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Starts the service with its log lines captured as parsed JSON. */
async function startLogged (t: Parameters<typeof start>[0], config: Parameters<typeof start>[1] = {}) {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l)); cb() } })
  const s = await start(t, { ...config, build: { logger: { level: 'info', stream, redact: redactPaths }, ...config.build } })
  return { ...s, lines }
}

t.test('every response carries its request id in x-request-id, and the request\'s log lines name it', async (t) => {
  const s = await startLogged(t)
  const answers = await Promise.all([
    call(`${s.url}/v1/me`, { token: s.token() }),
    call(`${s.url}/v1/me`),
    call(`${s.url}/nowhere`),
    fetch(`${s.url}/metrics`).then((r) => ({ status: r.status, headers: r.headers }))
  ])
  t.same(answers.map((a) => a.status), [200, 401, 404, 200])
  const ids = answers.map((a) => a.headers.get('x-request-id') ?? '')
  for (const id of ids) t.match(id, UUID)
  t.equal(new Set(ids).size, ids.length, 'one id per request')
  const completed = s.lines.filter((l) => l.msg === 'request completed' && (l.res as { statusCode: number }).statusCode === 401)
  t.equal(completed.length, 1)
  t.equal(completed[0]?.reqId, ids[1], 'the log line names the request the client saw')
})

t.test('4xx bodies carry no request id, so equal failures give byte-for-byte equal bodies', async (t) => {
  const s = await start(t)
  const bodies = await Promise.all([1, 2].map(async () => {
    const res = await fetch(`${s.url}/v1/me`, { headers: { authorization: 'Bearer not-a-token' } })
    t.equal(res.status, 401)
    t.ok(res.headers.get('x-request-id'))
    return await res.text()
  }))
  t.equal(bodies[0], bodies[1])
  t.notOk(JSON.parse(bodies[0] ?? '{}').requestId)
})

t.test('a 5xx body carries the request id, the same as the header', async (t) => {
  const s = await start(t)
  // Redis goes away: the notes routes answer 503
  s.app.redis.disconnect()
  const res = await call(`${s.url}/v1/notes`, { token: s.token() })
  t.equal(res.status, 503)
  t.match(res.body, { code: 'RATCHET_DEPENDENCY_UNAVAILABLE', requestId: UUID })
  t.equal(res.body.requestId, res.headers.get('x-request-id'))
})

t.test('each live revocation is logged once at info, without any token', async (t) => {
  const s = await startLogged(t)
  const sid = randomUUID()
  const token = s.token({ sid })
  t.equal((await call(`${s.url}/v1/me`, { token })).status, 200)
  await publish(s.nc, s.config, 'session.revoked', { id: randomUUID(), sid, sub: 'u-logged', reason: 'logout', at: Date.now() / 1000 })
  await eventually(async () => (await call(`${s.url}/v1/me`, { token })).status === 401, 10_000) // the session revoked
  const lines = s.lines.filter((l) => l.event === 'revocation_applied')
  t.equal(lines.length, 1)
  t.match(lines[0], { level: 30, type: 'session.revoked', sid, sub: 'u-logged', reason: 'logout' })
  const all = JSON.stringify(s.lines)
  for (const part of token.split('.')) t.notOk(all.includes(part), 'no token part in the logs')
})
