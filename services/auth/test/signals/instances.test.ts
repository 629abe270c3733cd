import t from 'tap'
import { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'
import { call, dropStream, eventually, freePort, isolation, signUp, startAuth } from '../helpers.js'
import { basic, createStream, startReceiver } from './receiver.js'

t.test('two auth instances deliver each SET to the stream once, retries included', async (t) => {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  // one deployment behind one issuer: shared Redis prefix, stream and keys
  const shared = { ...isolation(), ISSUER: issuer, SSF_RECEIVERS: [{ id: 'gw', secret: 'gw-secret' }], SSF_DELIVERY_TIMEOUT: 3, SSF_RETRY_MAX_INTERVAL: 1 }
  const a = await startAuth(t, { ...shared, PORT: port })
  const b = await startAuth(t, { ...shared, PORT: 0 })
  t.teardown(async () => { await dropStream(a.config.NATS_URL, a.config.NATS_STREAM) })
  for (const s of [a, b]) await eventually(async () => (await call(`${s.url}/health/ready`)).status === 200 || undefined, 10000)

  const receiver = await startReceiver(t, { issuer, jwksUrl: `${issuer}/.well-known/jwks.json`, audience: 'gw' })
  // the first pushes fail, so both instances also race over retries
  let refusals = 10
  receiver.answer(() => refusals-- > 0 ? 503 : 202)
  const credentials = basic('gw', 'gw-secret')
  const stream = await createStream(b.url, credentials, receiver.url)

  const users = await Promise.all(Array.from({ length: 30 }, async (_, i) => await signUp((i % 2 === 0 ? a : b).url)))
  await Promise.all(users.map(async (u, i) => { t.equal((await call(`${(i % 2 === 0 ? b : a).url}/v1/logout`, { method: 'POST', token: u.access })).status, 204) }))

  const sids = new Set(users.map((u) => u.sid))
  const ours = () => receiver.accepted.filter((s) => sids.has(String(s.payload.sub_id?.session?.id)))
  await eventually(() => ours().length >= 30 || undefined, 20000)
    .catch((err: Error) => { throw new Error(`${err.message}: ${ours().length} of 30 accepted, ${receiver.attempts} pushes, invalid: ${JSON.stringify(receiver.invalid)}`) })
  // everything settled: nothing left that could still arrive a second time
  const redis = new Redis(a.config.REDIS_URL, { keyPrefix: a.config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  await eventually(async () => (await redis.zcard(redisKeys.ssfDue(stream.stream_id))) === 0 || undefined, 10000)
  const got = ours()
  t.equal(got.length, 30, 'thirty SETs accepted')
  t.equal(new Set(got.map((s) => s.payload.sub_id?.session?.id)).size, 30, 'one per session')
  t.equal(new Set(got.map((s) => s.payload.jti)).size, 30, 'no jti twice')
  t.same(receiver.invalid, [], 'each verified against the JWKS')
})
