import t from 'tap'
import { call, eventually, startAuth } from '../../services/auth/test/helpers.js'
import { closeOutcome, ownNatsServer, ownRedisServer, spawnService } from './servers.js'

// Each case: the auth service on a Redis and a NATS of the test's own, the dependency
// taken away while the service runs, then the close must finish (whatever it gave up).

const readiness = async (url: string): Promise<{ redis?: boolean, nats?: boolean }> => (await call(`${url}/health/ready`)).body?.checks ?? {}

type Test = { teardown: (fn: () => unknown) => void }

async function running (t: Test) {
  const redis = await ownRedisServer(t)
  const nats = await ownNatsServer(t)
  const auth = await startAuth(t, { REDIS_URL: redis.url, NATS_URL: [nats.url] })
  await eventually(async () => (await call(`${auth.url}/health/ready`)).status === 200 || undefined, 15_000)
  return { redis, nats, auth }
}

t.test('closes with Redis down', async (t) => {
  const { redis, auth } = await running(t)
  await redis.stop()
  await eventually(async () => (await readiness(auth.url)).redis === false || undefined, 10_000)
  t.equal(await closeOutcome(auth.close), 'closed')
})

t.test('closes with NATS down', async (t) => {
  const { nats, auth } = await running(t)
  await nats.stop()
  await eventually(async () => (await readiness(auth.url)).nats === false || undefined, 10_000)
  t.equal(await closeOutcome(auth.close), 'closed')
})

t.test('closes with Redis and NATS down', async (t) => {
  const { redis, nats, auth } = await running(t)
  await Promise.all([redis.stop(), nats.stop()])
  await eventually(async () => { const c = await readiness(auth.url); return (c.redis === false && c.nats === false) || undefined }, 10_000)
  t.equal(await closeOutcome(auth.close), 'closed')
})

t.test('closes with Redis and NATS frozen: connections open, nothing answers', async (t) => {
  const { redis, nats, auth } = await running(t)
  redis.freeze()
  nats.freeze()
  // QUIT and a NATS drain would each wait for an answer that never comes
  t.equal(await closeOutcome(auth.close), 'closed')
})

t.test('closes when NATS never answered', async (t) => {
  const redis = await ownRedisServer(t)
  const nats = await ownNatsServer(t)
  await nats.stop()
  const auth = await startAuth(t, { REDIS_URL: redis.url, NATS_URL: [nats.url] })
  t.match(await readiness(auth.url), { redis: true, nats: false })
  t.equal(await closeOutcome(auth.close), 'closed')
})

t.test('on SIGTERM the process exits 0 with Redis and NATS down', async (t) => {
  const redis = await ownRedisServer(t)
  const nats = await ownNatsServer(t)
  const auth = await spawnService(t, 'auth', { REDIS_URL: redis.url, NATS_URL: nats.url, REDIS_PREFIX: `test:sigterm-${process.pid}:`, RATE_LIMITS: 'off' })
  await eventually(async () => (await call(`${auth.url}/health/ready`)).status === 200 || undefined, 15_000)
  await Promise.all([redis.stop(), nats.stop()])
  await eventually(async () => { const c = await readiness(auth.url); return (c.redis === false && c.nats === false) || undefined }, 10_000)
  // close-with-grace exits 1 when the close outlives its 10 s delay
  t.equal(await auth.terminate(), 0, auth.output())
})
