import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { JetStreamManager } from 'nats'
import { subjects } from '@ratchet/shared'
import { call, dropStream, durableTamperings, eventually, natsClient, ownNatsServer, sessionExists, signUp, startAuth, startReady } from '../helpers.js'
import { consumerDrift, REVOKER_DURABLE } from '../../src/events/consumer.js'

// The auth service's durable consumer can be deleted or replaced behind its back (by
// hand, or by a client with too wide a NATS permission): it puts its own back, and
// revocations published afterwards still end the sessions they name.

async function revokerFilter (jsm: JetStreamManager, stream: string): Promise<string | undefined> {
  return (await jsm.consumers.info(stream, REVOKER_DURABLE).catch(() => undefined))?.config.filter_subject
}

/** A logout elsewhere (another instance, an admin tool): a session.revoked put straight on the stream. */
async function revokeElsewhere (t: Parameters<typeof natsClient>[0], prefix: string, user: { sub: string, sid: string }, servers?: string): Promise<void> {
  const nc = await natsClient(t, servers)
  const event = { id: randomUUID(), sid: user.sid, sub: user.sub, reason: 'logout', at: Date.now() / 1000 }
  await nc.jetstream().publish(subjects(prefix).sessionRevoked, JSON.stringify(event), { msgID: event.id })
}

for (const [what, tamper] of durableTamperings(REVOKER_DURABLE)) {
  t.test(`a revoker consumer ${what} is put back, and a later logout event still ends the session`, async (t) => {
    const { url, config } = await startReady(t)
    const nc = await natsClient(t)
    const jsm = await nc.jetstreamManager()
    const filter = subjects(config.NATS_SUBJECT_PREFIX).all
    await eventually(async () => (await revokerFilter(jsm, config.NATS_STREAM)) === filter || undefined, 10_000)
    await tamper(jsm, config.NATS_STREAM, config.NATS_SUBJECT_PREFIX)
    const user = await signUp(url)
    await revokeElsewhere(t, config.NATS_SUBJECT_PREFIX, user)
    await eventually(async () => (await sessionExists(config, user.sub, user.sid)) ? undefined : true, 20_000, 100)
    const res = await call(`${url}/v1/refresh`, { body: { refresh_token: user.refresh } })
    t.equal(res.status, 401, 'the refresh token is refused')
    const repaired = await jsm.consumers.info(config.NATS_STREAM, REVOKER_DURABLE)
    t.equal(repaired.config.filter_subject, filter, 'the consumer has its own filter again')
    // what the server reports for the service's own durable is no drift, or it would be recreated for ever
    t.same(consumerDrift(repaired.config, REVOKER_DURABLE, filter), [], 'the repaired consumer is seen as ours')
  })
}

t.test('one log line per repair, no repair after a NATS outage, and a prompt close with NATS down', async (t) => {
  const nats = await ownNatsServer(t)
  const lines: Array<{ msg: string, consumer?: string }> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  const { url, config, close } = await startAuth(t, { NATS_URL: [nats.url] }, { logger: { level: 'info', stream } })
  t.teardown(async () => { await dropStream(nats.url, config.NATS_STREAM) })
  const ready = async (): Promise<number> => (await call(`${url}/health/ready`)).status
  const repairs = (): string[] => lines.filter((l) => l.consumer === REVOKER_DURABLE && /durable event consumer (was|had)/.test(l.msg)).map((l) => l.msg)
  const nc = await natsClient(t, nats.url)
  const jsm = await nc.jetstreamManager()
  await eventually(async () => (await revokerFilter(jsm, config.NATS_STREAM)) !== undefined || undefined, 10_000)

  await jsm.consumers.delete(config.NATS_STREAM, REVOKER_DURABLE)
  const first = await signUp(url)
  await revokeElsewhere(t, config.NATS_SUBJECT_PREFIX, first, nats.url)
  await eventually(async () => (await sessionExists(config, first.sub, first.sid)) ? undefined : true, 20_000, 100)
  t.same(repairs(), ['the durable event consumer was gone; recreated it'], 'one line for the repair')

  // NATS away and back on the same store: the durable is still there, nothing to repair
  await nats.stop()
  await eventually(async () => await ready() === 503 || undefined, 10_000)
  await nats.start()
  await eventually(async () => await ready() === 200 || undefined, 15_000)
  const second = await signUp(url)
  await revokeElsewhere(t, config.NATS_SUBJECT_PREFIX, second, nats.url)
  await eventually(async () => (await sessionExists(config, second.sub, second.sid)) ? undefined : true, 20_000, 100)
  t.equal(repairs().length, 1, 'no repair after the outage')

  // closing with NATS down: the watchdog's question in flight does not hold the close
  await nats.stop()
  await close()
  t.pass('closed with NATS down')
})
