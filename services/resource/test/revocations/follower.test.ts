import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { parseBearerChallenge } from '@ratchet/shared'
import { call, createStream, dependencyEnv, eventually, freePort, isolation, natsClient, nowSec, publish, start } from '../helpers.js'

const sessionRevoked = (sid: string, sub = 'someone') => ({ id: randomUUID(), sid, sub, reason: 'logout', at: Date.now() / 1000 })
const userRevoked = (sub: string, before: number) => ({ id: randomUUID(), sub, before, reason: 'logout_all', at: Date.now() / 1000 })

const revokedDescription = (res: { headers: Headers }) => parseBearerChallenge(res.headers.get('www-authenticate') ?? '')?.error_description

t.test('a session.revoked event from a plain NATS client revokes that session\'s tokens at once, cached or not', async (t) => {
  const s = await start(t)
  const token = s.token({ sid: 'sid-a' })
  const other = s.token({ sid: 'sid-b' })
  t.equal((await call(`${s.url}/v1/me`, { token })).status, 200, 'verified and cached')
  const sent = performance.now()
  await publish(s.nc, s.config, 'session.revoked', sessionRevoked('sid-a'))
  await eventually(async () => (await call(`${s.url}/v1/me`, { token })).status === 401, 10_000) // the token to be rejected
  t.comment(`event published → token rejected within ${(performance.now() - sent).toFixed(1)} ms`)
  const res = await call(`${s.url}/v1/me`, { token })
  t.equal(revokedDescription(res), 'The access token was revoked')
  t.match(res.body, { code: 'RATCHET_INVALID_ACCESS_TOKEN', message: /revoked/ })
  t.equal((await call(`${s.url}/v1/me`, { token: other })).status, 200, 'other sessions are untouched')
})

t.test('user.revoked ends every session that started before it, but not a newer login', async (t) => {
  const s = await start(t)
  const before = Date.now() / 1000
  const older = s.token({ sub: 'u1', sid: 'old', auth_time: before - 0.001 })
  const newer = s.token({ sub: 'u1', sid: 'new', auth_time: before })
  const otherUser = s.token({ sub: 'u2', sid: 'x', auth_time: before - 10 })
  t.equal((await call(`${s.url}/v1/me`, { token: older })).status, 200)
  await publish(s.nc, s.config, 'user.revoked', userRevoked('u1', before))
  await eventually(async () => (await call(`${s.url}/v1/me`, { token: older })).status === 401, 10_000) // the older session to be rejected
  t.equal(revokedDescription(await call(`${s.url}/v1/me`, { token: older })), 'The access token was revoked')
  t.equal((await call(`${s.url}/v1/me`, { token: newer })).status, 200, 'a login at `before` is not caught')
  t.equal((await call(`${s.url}/v1/me`, { token: otherUser })).status, 200)
})

t.test('a service started after a logout replays it and rejects the token from its first request', async (t) => {
  const iso = isolation()
  const nc = await natsClient(t)
  await createStream(t, nc, iso)
  await publish(nc, iso, 'session.revoked', sessionRevoked('gone'))
  await publish(nc, iso, 'user.revoked', userRevoked('u9', Date.now() / 1000))
  const s = await start(t, { config: iso, noStream: true })
  t.equal(s.app.revocationFollower.applied, 2)
  t.equal((await call(`${s.url}/v1/me`, { token: s.token({ sid: 'gone' }) })).status, 401)
  t.equal((await call(`${s.url}/v1/me`, { token: s.token({ sub: 'u9', auth_time: Date.now() / 1000 - 5 }) })).status, 401)
  t.equal((await call(`${s.url}/v1/me`, { token: s.token({ sid: 'kept' }) })).status, 200)
})

t.test('events older than an access token\'s lifetime are not replayed', async (t) => {
  const iso = isolation()
  const nc = await natsClient(t)
  await createStream(t, nc, iso)
  await publish(nc, iso, 'session.revoked', sessionRevoked('ancient'))
  const published = Date.now()
  await eventually(() => Date.now() > published + 1500, 10_000) // the event to age past the window
  const s = await start(t, { config: { ...iso, ACCESS_TOKEN_TTL: 1, CLOCK_LEEWAY: 0 }, noStream: true })
  t.equal(s.app.revocationFollower.applied, 0)
  t.equal((await call(`${s.url}/v1/me`, { token: s.token({ sid: 'ancient', exp: nowSec() + 60 }) })).status, 200)
})

t.test('malformed events are logged and skipped; the ones after them still apply', async (t) => {
  const s = await start(t)
  await publish(s.nc, s.config, 'session.revoked', 'not json')
  await publish(s.nc, s.config, 'session.revoked', { id: 'x', sub: 'y' })
  await publish(s.nc, s.config, 'user.revoked', { id: 'x', sub: 'y', before: 'yesterday', reason: 'logout_all', at: 1 })
  await publish(s.nc, s.config, 'something.else', { hello: 'world' })
  await publish(s.nc, s.config, 'session.revoked', sessionRevoked('after-garbage'))
  await eventually(() => s.app.revocationFollower.applied === 1, 10_000) // the good event to apply
  t.equal(s.app.revocationFollower.skipped, 3)
  t.equal((await call(`${s.url}/v1/me`, { token: s.token({ sid: 'after-garbage' }) })).status, 401)
  t.equal((await call(`${s.url}/health/ready`)).status, 200)
})

t.test('the service waits for the stream: not ready and refusing tokens until it exists and is replayed', async (t) => {
  const s = await start(t, { noStream: true, noWait: true })
  await eventually(() => s.app.keys.size > 0, 10_000) // keys
  const ready = await call(`${s.url}/health/ready`)
  t.equal(ready.status, 503)
  t.match(ready.body, { code: 'RATCHET_NOT_READY', message: /revocations/ })
  const res = await call(`${s.url}/v1/me`, { token: s.token() })
  t.equal(res.status, 503)
  t.match(res.body, { code: 'RATCHET_NOT_READY' })
  await createStream(t, s.nc, s.config)
  await eventually(async () => (await call(`${s.url}/health/ready`)).status === 200, 10_000) // ready once the stream exists
  t.equal((await call(`${s.url}/v1/me`, { token: s.token() })).status, 200)
  const jsm = await s.nc.jetstreamManager()
  t.ok(await jsm.streams.info(s.config.NATS_STREAM), 'the stream is the one we created; the service made none')
})

t.test('after NATS restarts the service reconnects, is ready again, and applies new events', async (t) => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'ratchet-nats-'))
  const startNats = () => spawn('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  let server = startNats()
  t.teardown(() => { server.kill(); rmSync(dir, { recursive: true, force: true }) })
  const url = `nats://127.0.0.1:${port}`
  await eventually(async () => { try { (await natsClient(t, url)); return true } catch { return false } }, 10_000) // the extra nats-server
  const s = await start(t, { config: { NATS_URL: url } })
  server.kill()
  await eventually(async () => (await call(`${s.url}/health/ready`)).status === 503, 10_000) // not ready without NATS
  t.match((await call(`${s.url}/health/ready`)).body, { message: /NATS/ })
  server = startNats()
  await eventually(async () => (await call(`${s.url}/health/ready`)).status === 200, 20_000) // ready again
  const nc = await natsClient(t, url)
  await publish(nc, s.config, 'session.revoked', sessionRevoked('after-restart'))
  await eventually(async () => (await call(`${s.url}/v1/me`, { token: s.token({ sid: 'after-restart' }) })).status === 401, 60_000) // the new event to apply
})

t.test('the service starts without NATS, is not ready, closes cleanly, and catches up once NATS appears', async (t) => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'ratchet-nats-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const url = `nats://127.0.0.1:${port}`
  // a first service that never sees NATS must still close
  const { buildApp } = await import('../../src/app.js')
  const { loadConfig, ResourceEnv } = await import('@ratchet/shared')
  const lonely = await buildApp(loadConfig(ResourceEnv, dependencyEnv(), { ...isolation(), NATS_URL: url, JWKS_URL: 'http://127.0.0.1:1/jwks', LOG_LEVEL: 'silent' }), { logger: false, retryInterval: 50 })
  await lonely.listen({ host: '127.0.0.1', port: 0 })
  const ready = await lonely.inject('/health/ready')
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { message: /NATS is not connected/ })
  await lonely.close()
  t.pass('closed while waiting for NATS')

  const server = spawn('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  t.teardown(() => { server.kill() })
  await eventually(async () => { try { (await natsClient(t, url)); return true } catch { return false } }, 10_000) // the extra nats-server
  const s = await start(t, { config: { NATS_URL: url } })
  t.equal((await call(`${s.url}/health/ready`)).status, 200)
})
