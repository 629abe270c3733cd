import t from 'tap'
import { connect } from 'nats'
import { redisKeys } from '@ratchet/shared'
import { randomUUID } from 'node:crypto'
import { call, eventually, isolation, logIn, signUp, startAuth, startReady, testConfig, testRedis } from '../helpers.js'
import { eventCounters } from '../../src/events/index.js'
import { RELAY_GROUP } from '../../src/stores/outbox.js'

t.test('two auth instances on one prefix relay each event exactly once', async (t) => {
  const a = await startReady(t)
  const { REDIS_PREFIX, NATS_STREAM, NATS_SUBJECT_PREFIX } = a.config
  const b = await startAuth(t, { REDIS_PREFIX, NATS_STREAM, NATS_SUBJECT_PREFIX })
  await eventually(async () => (await call(`${b.url}/health/ready`)).status === 200 || undefined, 10000)
  const user = await signUp(a.url)
  const sessions = [user]
  for (let i = 0; i < 29; i++) sessions.push({ ...user, ...await logIn(i % 2 === 0 ? a.url : b.url, user.email, user.password) })
  const publishedBefore = eventCounters.published
  // logouts through both instances at once: both relays wake and compete for the entries
  const statuses = await Promise.all(sessions.map(async (s, i) => (await call(`${i % 2 === 0 ? a.url : b.url}/v1/logout`, { method: 'POST', token: s.access })).status))
  t.same(new Set(statuses), new Set([204]))

  // no keyPrefix: ioredis does not prefix XINFO's key, so it is spelled out
  const redis = testRedis(a.config.REDIS_URL)
  t.teardown(() => { redis.disconnect() })
  const outbox = `${REDIS_PREFIX}${redisKeys.outbox()}`
  await eventually(async () => await redis.xlen(outbox) === 0 || undefined, 10000)
  const nc = await connect({ servers: a.config.NATS_URL })
  t.teardown(async () => { await nc.close() })
  const info = await (await nc.jetstreamManager()).streams.info(NATS_STREAM)
  t.equal(info.state.messages, sessions.length, 'one message per logout on the stream')
  // both instances run in this process and share the counter: it counts every publish,
  // so a second publish of an entry (even one the stream dropped as a duplicate) shows here
  t.equal(eventCounters.published - publishedBefore, sessions.length, 'no entry was published twice')
})

t.test('a closed instance leaves no consumer behind in the group', async (t) => {
  const a = await startReady(t)
  const redis = testRedis(a.config.REDIS_URL)
  t.teardown(() => { redis.disconnect() })
  const outbox = `${a.config.REDIS_PREFIX}${redisKeys.outbox()}`
  const user = await signUp(a.url)
  await call(`${a.url}/v1/logout`, { method: 'POST', token: user.access })
  // Redis creates a group consumer when it first receives an entry
  await eventually(async () => await redis.xlen(outbox) === 0 || undefined)
  t.equal((await redis.xinfo('CONSUMERS', outbox, RELAY_GROUP) as unknown[]).length, 1)
  await a.close()
  t.same(await redis.xinfo('CONSUMERS', outbox, RELAY_GROUP), [])
})

t.test('entries a dead instance left pending are taken over and published', async (t) => {
  const config = isolation()
  // no keyPrefix here: ioredis does not prefix XGROUP's key, so every key is spelled out
  const redis = testRedis(testConfig().REDIS_URL)
  t.teardown(() => { redis.disconnect() })
  const outbox = `${config.REDIS_PREFIX}${redisKeys.outbox()}`
  // an instance read an entry and died before publishing it, a minute ago
  const event = { id: randomUUID(), sid: 'dead-sid', sub: 'dead-sub', reason: 'logout', at: Date.now() / 1000 }
  const id = await redis.xadd(outbox, '*', 'type', 'session.revoked', 'data', JSON.stringify(event))
  await redis.xgroup('CREATE', outbox, RELAY_GROUP, '0')
  await redis.xreadgroup('GROUP', RELAY_GROUP, 'dead-instance', 'COUNT', 10, 'STREAMS', outbox, '>')
  await redis.xclaim(outbox, RELAY_GROUP, 'dead-instance', 0, id ?? '', 'IDLE', 60_000)

  const { config: started } = await startReady(t, config)
  const nc = await connect({ servers: started.NATS_URL })
  t.teardown(async () => { await nc.close() })
  const jsm = await nc.jetstreamManager()
  const msg = await eventually(async () => {
    const info = await jsm.streams.info(config.NATS_STREAM)
    return info.state.messages > 0 ? await jsm.streams.getMessage(config.NATS_STREAM, { seq: info.state.first_seq }) : undefined
  }, 10000)
  t.match(msg.json(), event)
  await eventually(async () => await redis.xlen(outbox) === 0 || undefined)
  t.pass('the entry was removed after the stream acknowledged it')
})
