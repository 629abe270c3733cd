import t from 'tap'
import { randomUUID } from 'node:crypto'
import { AckPolicy, DeliverPolicy, nanos, type JetStreamManager } from 'nats'
import { durableDrift, subjects } from '@ratchet/shared'
import { call, durableTamperings, eventually, publish, start } from '../helpers.js'
import { DELETIONS_DURABLE } from '../../src/accounts/deletions.js'

// The account-deletion durable is shared by every resource instance and kept by the
// server, where it can be deleted or changed behind the service's back: the service
// puts it back, and a user.deleted published afterwards still removes the user's notes.

async function durableFilter (jsm: JetStreamManager, stream: string): Promise<string | undefined> {
  return (await jsm.consumers.info(stream, DELETIONS_DURABLE).catch(() => undefined))?.config.filter_subject
}

for (const [what, tamper] of durableTamperings(DELETIONS_DURABLE)) {
  t.test(`an account-deletion consumer ${what} is put back, and a later user.deleted still removes the notes`, async (t) => {
    const { url, config, nc, token } = await start(t)
    const jsm = await nc.jetstreamManager()
    const filter = subjects(config.NATS_SUBJECT_PREFIX).userDeleted
    await eventually(async () => (await durableFilter(jsm, config.NATS_STREAM)) === filter || undefined, 10_000)
    const sub = `u-${randomUUID()}`
    const bearer = { authorization: `Bearer ${token({ sub })}` }
    t.equal((await call(`${url}/v1/notes`, { method: 'POST', headers: bearer, body: { text: 'kept until the account goes' } })).status, 201, 'a note is written')

    await tamper(jsm, config.NATS_STREAM, config.NATS_SUBJECT_PREFIX)
    await publish(nc, config, 'user.deleted', { id: randomUUID(), sub, at: Date.now() / 1000 })
    // the watchdog asks every 5 s; the repaired durable delivers every stored deletion again
    await eventually(async () => {
      const res = await call<{ notes: unknown[] }>(`${url}/v1/notes`, { headers: bearer })
      return res.status === 200 && res.body.notes.length === 0 ? true : undefined
    }, 20_000, 100)
    const repaired = await jsm.consumers.info(config.NATS_STREAM, DELETIONS_DURABLE)
    t.equal(repaired.config.filter_subject, filter, 'the consumer has its own filter again')
    t.same(durableDrift(repaired.config, { ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: filter, ack_wait: nanos(30_000) }), [], 'the repaired consumer is seen as ours')
  })
}
