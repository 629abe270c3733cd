import t from 'tap'
import { connect, nanos, StorageType } from 'nats'
import { subjects } from '@ratchet/shared'
import { call, dropStream, eventually, isolation, signUp, startReady, testConfig } from '../helpers.js'
import { retentionSeconds } from '../../src/events/stream.js'

const SECOND = nanos(1000)

t.test('the stream is created with file storage, the subjects, a long enough age and dedup', async (t) => {
  const { config } = await startReady(t)
  const nc = await connect({ servers: config.NATS_URL })
  t.teardown(async () => { await nc.close() })
  const { config: stream } = await (await nc.jetstreamManager()).streams.info(config.NATS_STREAM)
  t.same(stream.subjects, [subjects(config.NATS_SUBJECT_PREFIX).all])
  t.equal(stream.storage, StorageType.File)
  t.ok(stream.max_age >= (config.ACCESS_TOKEN_TTL + config.CLOCK_LEEWAY) * SECOND, 'kept at least as long as an access token lives')
  t.ok(stream.duplicate_window >= 60 * SECOND, 'dedup on the event id for at least a minute')
})

t.test('a stream with too small settings is widened, and an operator\'s larger age is kept', async (t) => {
  const ids = isolation()
  const nc = await connect({ servers: testConfig().NATS_URL })
  t.teardown(async () => { await nc.close() })
  const jsm = await nc.jetstreamManager()
  t.teardown(async () => { await dropStream(testConfig().NATS_URL, ids.NATS_STREAM) })
  // another subject an operator added, a short age and a short dedup window
  await jsm.streams.add({ name: ids.NATS_STREAM, subjects: [`${ids.NATS_SUBJECT_PREFIX}.other`], storage: StorageType.File, max_age: 60 * SECOND, duplicate_window: 10 * SECOND })
  const { config } = await startReady(t, ids)
  const widened = (await jsm.streams.info(ids.NATS_STREAM)).config
  t.same(new Set(widened.subjects), new Set([`${ids.NATS_SUBJECT_PREFIX}.other`, subjects(ids.NATS_SUBJECT_PREFIX).all]), 'our subjects added, theirs kept')
  t.equal(widened.max_age, retentionSeconds(config.ACCESS_TOKEN_TTL, config.CLOCK_LEEWAY) * SECOND)
  t.ok(widened.duplicate_window >= 60 * SECOND)

  // an operator keeps events for a week: a restart must not shrink that
  const week = 7 * 24 * 3600 * SECOND
  await jsm.streams.update(ids.NATS_STREAM, { ...widened, max_age: week })
  const again = await startReady(t, ids)
  t.equal((await call(`${again.url}/health/ready`)).status, 200)
  t.equal((await jsm.streams.info(ids.NATS_STREAM)).config.max_age, week)
})

t.test('a stream deleted while the service runs is put back and the event still delivered', async (t) => {
  const { url, config } = await startReady(t)
  const nc = await connect({ servers: config.NATS_URL })
  t.teardown(async () => { await nc.close() })
  const jsm = await nc.jetstreamManager()
  await jsm.streams.delete(config.NATS_STREAM)
  const user = await signUp(url)
  t.equal((await call(`${url}/v1/logout`, { method: 'POST', token: user.access })).status, 204)
  const msg = await eventually(async () => {
    const info = await jsm.streams.info(config.NATS_STREAM).catch(() => undefined)
    return info !== undefined && info.state.messages > 0 ? await jsm.streams.getMessage(config.NATS_STREAM, { seq: info.state.first_seq }) : undefined
  }, 15000)
  t.match(msg.json(), { sid: user.sid, reason: 'logout' })
})

t.test('the retention covers an access token\'s life plus leeway, and at least a day', async (t) => {
  t.equal(retentionSeconds(900, 5), 86400)
  t.ok(retentionSeconds(172800, 5) >= 172805)
})
