import t from 'tap'
import { connect } from 'nats'
import { redisKeys, subjects } from '@ratchet/shared'
import { call, dropStream, eventually, freePort, ownNatsServer, signUp, startAuth, testRedis } from '../helpers.js'

const ready = async (url: string) => (await call(`${url}/health/ready`)).status

t.test('the service starts without NATS, reports not ready, and gets ready once NATS comes up', async (t) => {
  const nats = await ownNatsServer(t)
  await nats.stop()
  const { url, config } = await startAuth(t, { NATS_URL: nats.url })
  t.teardown(async () => { await dropStream(nats.url, config.NATS_STREAM) })
  const res = await call(`${url}/health/ready`)
  t.equal(res.status, 503)
  t.match(res.body, { checks: { redis: true, nats: false } })
  t.equal((await call(`${url}/health/live`)).status, 200)
  const user = await signUp(url)
  t.equal((await call(`${url}/v1/logout`, { method: 'POST', token: user.access })).status, 204, 'a logout works while NATS is away')
  await nats.start()
  await eventually(async () => await ready(url) === 200 || undefined, 15000)
  t.pass('ready once NATS answers')
})

t.test('a logout while NATS is down is delivered once NATS is back', async (t) => {
  const nats = await ownNatsServer(t)
  // a second server in the list that never answers: the client must still use the first
  const spare = await freePort()
  const { url, config } = await startAuth(t, { NATS_URL: `${nats.url}, nats://127.0.0.1:${spare}` })
  await eventually(async () => await ready(url) === 200 || undefined, 10000)
  const user = await signUp(url)

  await nats.stop()
  await eventually(async () => await ready(url) === 503 || undefined, 10000)
  t.equal((await call(`${url}/v1/logout`, { method: 'POST', token: user.access })).status, 204)
  const redis = testRedis(config.REDIS_URL, { keyPrefix: config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  t.equal(await redis.xlen(redisKeys.outbox()), 1, 'the event waits in the outbox')

  await nats.start()
  await eventually(async () => await ready(url) === 200 || undefined, 15000)
  const nc = await connect({ servers: nats.url })
  t.teardown(async () => { await nc.close() })
  const jsm = await nc.jetstreamManager()
  const msg = await eventually(async () => {
    const info = await jsm.streams.info(config.NATS_STREAM)
    return info.state.messages > 0 ? await jsm.streams.getMessage(config.NATS_STREAM, { seq: info.state.first_seq }) : undefined
  }, 15000)
  t.equal(msg.subject, subjects(config.NATS_SUBJECT_PREFIX).sessionRevoked)
  t.match(msg.json(), { sid: user.sid, sub: user.sub, reason: 'logout' })
  await eventually(async () => await redis.xlen(redisKeys.outbox()) === 0 || undefined)
  t.pass('the outbox entry is removed once the stream acknowledged it')
})
