import t from 'tap'
import { call, eventually, start, startJwks, type StartOptions } from '../../services/resource/test/helpers.js'
import { blackhole, closeOutcome, ownNatsServer, ownRedisServer, spawnService } from './servers.js'

// Each case: the resource service on a Redis and a NATS of the test's own, the dependency
// taken away while the service runs, then the close must finish (whatever it gave up).

type Test = { teardown: (fn: () => unknown) => void }

/** What /health/ready says of Redis and NATS (a 503 names what is missing). */
async function checks (url: string): Promise<{ redis: boolean, nats: boolean }> {
  const res = await call(`${url}/health/ready`)
  const missing = res.status === 200 ? '' : String(res.body?.message)
  return { redis: !missing.includes('Redis is not connected'), nats: !missing.includes('NATS is not connected') }
}

async function running (t: Test, opts: StartOptions = {}) {
  const redis = await ownRedisServer(t)
  const nats = await ownNatsServer(t)
  const resource = await start(t, { ...opts, config: { REDIS_URL: redis.url, NATS_URL: [nats.url], ...opts.config } })
  return { redis, nats, resource }
}

t.test('closes with Redis down', async (t) => {
  const { redis, resource } = await running(t)
  await redis.stop()
  await eventually(async () => (await checks(resource.url)).redis === false, 10_000) // redis reported down
  t.equal(await closeOutcome(async () => { await resource.app.close() }), 'closed')
})

t.test('closes with NATS down', async (t) => {
  const { nats, resource } = await running(t)
  await nats.stop()
  await eventually(async () => (await checks(resource.url)).nats === false, 10_000) // nats reported down
  t.equal(await closeOutcome(async () => { await resource.app.close() }), 'closed')
})

t.test('closes with Redis and NATS down', async (t) => {
  const { redis, nats, resource } = await running(t)
  await Promise.all([redis.stop(), nats.stop()])
  await eventually(async () => { const c = await checks(resource.url); return c.redis === false && c.nats === false }, 10_000) // both reported down
  t.equal(await closeOutcome(async () => { await resource.app.close() }), 'closed')
})

t.test('closes with Redis and NATS frozen: connections open, nothing answers', async (t) => {
  const { redis, nats, resource } = await running(t)
  redis.freeze()
  nats.freeze()
  // QUIT and a NATS drain would each wait for an answer that never comes
  t.equal(await closeOutcome(async () => { await resource.app.close() }), 'closed')
})

t.test('closes while the JWKS never answers, and leaves no fetch open', async (t) => {
  const jwks = await blackhole(t)
  const redis = await ownRedisServer(t)
  const nats = await ownNatsServer(t)
  // a fetch timeout far beyond the hang guard: only the close can end the fetch in flight
  const resource = await start(t, { noWait: true, config: { REDIS_URL: redis.url, NATS_URL: [nats.url], JWKS_URL: jwks.url }, build: { jwks: { timeout: 120_000 } } })
  await eventually(() => jwks.accepted() > 0, 10_000) // a JWKS fetch in flight
  t.equal(jwks.closed(), 0, 'the fetch waits for an answer')
  t.equal(await closeOutcome(async () => { await resource.app.close() }), 'closed')
  await eventually(() => jwks.closed() > 0, 10_000) // the JWKS connection closed
  t.pass('the fetch in flight was aborted')
})

t.test('on SIGTERM the process exits 0 with Redis, NATS and the JWKS down', async (t) => {
  const keys = await startJwks(t)
  const redis = await ownRedisServer(t)
  const nats = await ownNatsServer(t)
  const resource = await spawnService(t, 'resource', { REDIS_URL: redis.url, NATS_URL: nats.url, JWKS_URL: keys.url, ISSUER: 'http://auth.test' })
  await eventually(async () => { const c = await checks(resource.url); return c.redis === true && c.nats === true }, 10_000) // redis and nats up
  keys.down = true
  await Promise.all([redis.stop(), nats.stop()])
  await eventually(async () => { const c = await checks(resource.url); return c.redis === false && c.nats === false }, 10_000) // both reported down
  // close-with-grace exits 1 when the close outlives its 10 s delay
  t.equal(await resource.terminate(), 0, resource.output())
})
