import t from 'tap'
import { randomUUID } from 'node:crypto'
import { headers as natsHeaders, type NatsConnection } from 'nats'
import { subjects } from '@ratchet/shared'
import { call, eventually, logIn, natsClient, sessionExists, signUp, startAuth, startReady } from '../helpers.js'
import { eventCounters } from '../../src/events/index.js'

/** Every message stored on the stream, in order (an ordered consumer, as a resource service reads it). */
async function storedEvents (nc: NatsConnection, stream: string): Promise<Array<{ subject: string, data: Record<string, unknown>, msgId: string | undefined }>> {
  const jsm = await nc.jetstreamManager()
  const { state } = await jsm.streams.info(stream)
  const out = []
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq })
    out.push({ subject: m.subject, data: m.json<Record<string, unknown>>(), msgId: m.header?.get('Nats-Msg-Id') })
  }
  return out
}

t.test('a logout puts a session.revoked event with its sid, sub and reason on the stream', async (t) => {
  const { url, config } = await startReady(t)
  const nc = await natsClient(t)
  const user = await signUp(url)
  const out = await call(`${url}/v1/logout`, { method: 'POST', token: user.access })
  t.equal(out.status, 204)
  const [event] = await eventually(async () => {
    const events = await storedEvents(nc, config.NATS_STREAM)
    return events.length > 0 ? events : undefined
  })
  t.equal(event?.subject, subjects(config.NATS_SUBJECT_PREFIX).sessionRevoked)
  t.match(event?.data, { sid: user.sid, sub: user.sub, reason: 'logout', id: String, at: Number })
  t.equal(event?.msgId, event?.data.id, 'the event id is the JetStream message id, so a resend is dropped')
})

t.test('an event published by another service revokes the refresh token it names', async (t) => {
  const { url, config } = await startReady(t)
  const nc = await natsClient(t)
  const user = await signUp(url)
  const event = { id: randomUUID(), sid: user.sid, sub: user.sub, reason: 'admin', at: Date.now() / 1000 }
  await nc.jetstream().publish(subjects(config.NATS_SUBJECT_PREFIX).sessionRevoked, JSON.stringify(event), { msgID: event.id })
  await eventually(async () => (await sessionExists(config, user.sub, user.sid)) ? undefined : true)
  const res = await call(`${url}/v1/refresh`, { body: { refresh_token: user.refresh } })
  t.equal(res.status, 401)
  t.match(res.body, { code: 'RATCHET_INVALID_REFRESH_TOKEN', message: /session has ended/ })
})

t.test('user.revoked ends every session that started before `before` but not a later login', async (t) => {
  const { url, config } = await startReady(t)
  const nc = await natsClient(t)
  const first = await signUp(url)
  const second = await logIn(url, first.email, first.password)
  const before = Date.now() / 1000
  // the next login must start strictly after `before`, at millisecond precision
  await eventually(() => Date.now() / 1000 > before + 0.002 || undefined)
  const later = await logIn(url, first.email, first.password)
  const event = { id: randomUUID(), sub: first.sub, before, reason: 'password_changed', at: before }
  await nc.jetstream().publish(subjects(config.NATS_SUBJECT_PREFIX).userRevoked, JSON.stringify(event), { msgID: event.id })
  await eventually(async () => (await sessionExists(config, first.sub, first.sid)) || (await sessionExists(config, second.sub, second.sid)) ? undefined : true)
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: second.refresh } })).status, 401, 'an older session is ended')
  t.ok(await sessionExists(config, later.sub, later.sid), 'the later session is kept')
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: later.refresh } })).status, 200, 'the later session still refreshes')
})

t.test('malformed events are skipped and the events behind them still apply', async (t) => {
  const { url, config } = await startReady(t)
  const nc = await natsClient(t)
  const names = subjects(config.NATS_SUBJECT_PREFIX)
  const user = await signUp(url)
  const skippedBefore = eventCounters.skipped
  const js = nc.jetstream()
  await js.publish(names.sessionRevoked, 'not json')
  await js.publish(names.userRevoked, JSON.stringify({ id: randomUUID(), sub: user.sub, before: 'yesterday', reason: 'admin', at: 1 }))
  await js.publish(names.sessionRevoked, JSON.stringify({ id: randomUUID(), sid: user.sid, reason: 'admin', at: 1 }))
  const h = natsHeaders()
  h.set('x-test', 'a message with headers and an empty body')
  await js.publish(names.sessionRevoked, new Uint8Array(0), { headers: h })
  const event = { id: randomUUID(), sid: user.sid, sub: user.sub, reason: 'admin', at: Date.now() / 1000 }
  await js.publish(names.sessionRevoked, JSON.stringify(event))
  await eventually(async () => (await sessionExists(config, user.sub, user.sid)) ? undefined : true)
  t.equal(eventCounters.skipped - skippedBefore, 4, 'each malformed event was logged and skipped')
  t.equal((await call(`${url}/health/ready`)).status, 200, 'the service is still ready')
})

t.test('events published while the auth service was down are applied when it comes back', async (t) => {
  const first = await startReady(t)
  const { config } = first
  const user = await signUp(first.url)
  await first.close()
  const nc = await natsClient(t)
  const event = { id: randomUUID(), sid: user.sid, sub: user.sub, reason: 'admin', at: Date.now() / 1000 }
  await nc.jetstream().publish(subjects(config.NATS_SUBJECT_PREFIX).sessionRevoked, JSON.stringify(event), { msgID: event.id })
  t.ok(await sessionExists(config, user.sub, user.sid), 'nobody applied it while the service was down')
  const { REDIS_PREFIX, NATS_STREAM, NATS_SUBJECT_PREFIX } = config
  await startAuth(t, { REDIS_PREFIX, NATS_STREAM, NATS_SUBJECT_PREFIX })
  await eventually(async () => (await sessionExists(config, user.sub, user.sid)) ? undefined : true, 10000)
  t.pass('the durable consumer delivered it after the restart')
})
