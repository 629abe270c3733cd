// deploy/nats.conf, the NATS configuration docker-compose.yml runs, on a real
// nats-server (free port, its own store): each service's user can do what the service
// does and no more. Above all, the resource user cannot publish an event, so a
// compromised resource service cannot forge a revocation (or un-revoke by deleting the
// stream), nor stop or replace the auth service's durable consumers.
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomUUID } from 'node:crypto'
import { AckPolicy, connect, DeliverPolicy, JSONCodec, StringCodec, type NatsConnection } from 'nats'
import type { FastifyBaseLogger } from 'fastify'
import { waitFor } from './flow.ts'
import { DELETIONS_DURABLE } from '../../services/resource/src/accounts/deletions.ts'
import { RevocationFollower } from '../../services/resource/src/revocations/follower.ts'
import { RevocationList } from '../../services/resource/src/revocations/list.ts'
import { REVOKER_DURABLE } from '../../services/auth/src/events/consumer.ts'
import { SIGNALS_DURABLE } from '../../services/auth/src/signals/feed.ts'

const conf = fileURLToPath(new URL('../../deploy/nats.conf', import.meta.url))
const sc = StringCodec()
const AUTH_PASSWORD = 'auth-test-password'
const RESOURCE_PASSWORD = 'resource-test-password'
const STREAM = 'PERMTEST'
// The conf grants the events subjects of the default prefix only (see its header).
const EVENT = 'ratchet.events.session.revoked'

const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const address = server.address()
    server.close(() => typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')))
  })
})

const store = await mkdtemp(join(tmpdir(), 'ratchet-nats-perm-'))
t.teardown(() => rm(store, { recursive: true, force: true }))
const port = await freePort()
// The conf as it is, but with the store in a temp dir instead of the container's /data
// (nats-server refuses -sd next to a conf that sets store_dir).
const original = await readFile(conf, 'utf8')
const local = original.replace('store_dir: /data', `store_dir: ${JSON.stringify(store)}`)
if (local === original) throw new Error('deploy/nats.conf no longer sets store_dir: /data; update this test')
await writeFile(join(store, 'nats.conf'), local)
const server = spawn('nats-server', ['-c', join(store, 'nats.conf'), '-p', String(port)], {
  env: { ...process.env, NATS_AUTH_PASSWORD: AUTH_PASSWORD, NATS_RESOURCE_PASSWORD: RESOURCE_PASSWORD },
  stdio: 'ignore'
})
const exited = new Promise((resolve) => server.once('exit', resolve))
t.teardown(async () => { server.kill('SIGTERM'); await exited })

const open = async (user: string, pass: string): Promise<NatsConnection> => {
  let nc: NatsConnection | undefined
  await waitFor(`nats-server on ${port} to accept ${user}`, async () => {
    nc = await connect({ servers: [`127.0.0.1:${port}`], user, pass, maxReconnectAttempts: 0 })
    return true
  }, 15_000)
  if (!nc) throw new Error('unreachable')
  const opened = nc
  t.teardown(() => opened.close())
  return opened
}

const auth = await open('auth', AUTH_PASSWORD)
const resource = await open('resource', RESOURCE_PASSWORD)
const jsm = await auth.jetstreamManager()
await jsm.streams.add({ name: STREAM, subjects: ['ratchet.events.>'] })

t.test('a client without a password, or with a wrong one, is refused', async (t) => {
  await t.rejects(connect({ servers: [`127.0.0.1:${port}`], maxReconnectAttempts: 0 }), { code: 'AUTHORIZATION_VIOLATION' })
  await t.rejects(connect({ servers: [`127.0.0.1:${port}`], user: 'resource', pass: 'wrong', maxReconnectAttempts: 0 }), { code: 'AUTHORIZATION_VIOLATION' })
})

t.test('the auth user publishes events into the stream', async (t) => {
  const ack = await auth.jetstream().publish(EVENT, sc.encode('from auth'))
  t.equal(ack.stream, STREAM)
})

t.test('the auth user runs a durable consumer and acknowledges what it read', async (t) => {
  await jsm.consumers.add(STREAM, { durable_name: 'perm-auth', ack_policy: AckPolicy.Explicit })
  const consumer = await auth.jetstream().consumers.get(STREAM, 'perm-auth')
  const m = await consumer.next({ expires: 5_000 })
  t.ok(m, 'a message was fetched')
  t.ok(await m?.ackAck(), 'the ack was accepted')
})

t.test('the resource user reads the stream with an ordered consumer', async (t) => {
  await auth.jetstream().publish(EVENT, sc.encode('to read'))
  const consumer = await resource.jetstream().consumers.get(STREAM, { filterSubjects: 'ratchet.events.>' })
  const messages = await consumer.consume()
  t.teardown(() => messages.stop())
  t.ok((await consumer.info(true)).num_pending >= 0, 'stream and consumer info answer')
  for await (const m of messages) {
    if (sc.decode(m.data) === 'to read') break
  }
  t.pass('the event published by auth arrived')
})

t.test('the resource user cannot publish on the events subjects', async (t) => {
  await t.rejects(resource.jetstream().publish(EVENT, sc.encode('forged'), { timeout: 2_000 }), { code: 'PERMISSIONS_VIOLATION' })
  const info = await jsm.streams.info(STREAM)
  const last = await jsm.streams.getMessage(STREAM, { last_by_subj: EVENT })
  t.not(sc.decode(last.data), 'forged', 'nothing forged reached the stream')
  t.ok(info.state.messages >= 1, 'the stream still holds the real events')
})

t.test('the resource user cannot delete or purge the stream', async (t) => {
  const rjsm = await resource.jetstreamManager()
  await t.rejects(rjsm.streams.purge(STREAM), { code: 'PERMISSIONS_VIOLATION' })
  await t.rejects(rjsm.streams.delete(STREAM), { code: 'PERMISSIONS_VIOLATION' })
  t.ok(await jsm.streams.info(STREAM), 'the stream is still there')
})

t.test('the resource user runs its account-deletion consumer and acknowledges what it read', async (t) => {
  const rjsm = await resource.jetstreamManager()
  await rjsm.consumers.add(STREAM, { durable_name: DELETIONS_DURABLE, ack_policy: AckPolicy.Explicit, filter_subject: 'ratchet.events.user.deleted' })
  await auth.jetstream().publish('ratchet.events.user.deleted', sc.encode('deleted'))
  const consumer = await resource.jetstream().consumers.get(STREAM, DELETIONS_DURABLE)
  const m = await consumer.next({ expires: 5_000 })
  t.equal(m === null ? undefined : sc.decode(m.data), 'deleted')
  t.ok(await m?.ackAck(), 'the ack was accepted')
})

t.test('the resource user cannot acknowledge for another consumer', async (t) => {
  await jsm.consumers.add(STREAM, { durable_name: 'perm-auth-2', ack_policy: AckPolicy.Explicit, filter_subject: EVENT })
  await auth.jetstream().publish(EVENT, sc.encode('for auth only'))
  const consumer = await resource.jetstream().consumers.get(STREAM, 'perm-auth-2')
  const m = await consumer.next({ expires: 5_000 })
  t.ok(m, 'it may read (pull) the message')
  // the ack is refused: the message stays pending for the auth service
  await t.rejects(m!.ackAck({ timeout: 2_000 }))
  t.equal((await jsm.consumers.info(STREAM, 'perm-auth-2')).num_ack_pending, 1)
})

const silentLog = { level: 'silent', fatal () {}, error () {}, warn () {}, info () {}, debug () {}, trace () {}, silent () {}, child: () => silentLog } as unknown as FastifyBaseLogger

t.test('the resource service\'s revocation follower runs with these permissions', async (t) => {
  const list = new RevocationList({ retainSeconds: 60 })
  const follower = new RevocationFollower({ connection: async () => resource, stream: STREAM, prefix: 'ratchet', replaySeconds: 60, list, log: silentLog, leewaySeconds: 5, retryInterval: 100 })
  follower.start()
  t.teardown(() => follower.stop())
  const sid = randomUUID()
  await auth.jetstream().publish(EVENT, JSONCodec().encode({ id: randomUUID(), sid, sub: 'user-1', reason: 'logout', at: Date.now() / 1000 }))
  await waitFor('the follower to apply the revocation', async () => list.isRevoked(sid, 'user-1', list.relativeMs(Date.now() / 1000)), 10_000)
  t.pass('the revocation arrived through the resource user\'s own consumer')
})

// Each durable consumer the auth service runs, as the auth service creates it.
for (const durable of [REVOKER_DURABLE, SIGNALS_DURABLE]) {
  t.test(`the resource user cannot delete, replace or drain the auth service's ${durable}`, async (t) => {
    const filter = 'ratchet.events.>'
    await jsm.consumers.add(STREAM, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: filter })
    const before = await jsm.consumers.info(STREAM, durable)
    const rjsm = await resource.jetstreamManager()
    await t.rejects(rjsm.consumers.delete(STREAM, durable), { code: 'PERMISSIONS_VIOLATION' }, 'delete')
    await t.rejects(rjsm.consumers.add(STREAM, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: 'ratchet.events.nothing' }), { code: 'PERMISSIONS_VIOLATION' }, 'replace with another filter')
    await t.rejects(rjsm.consumers.add(STREAM, { durable_name: durable, ack_policy: AckPolicy.Explicit }), { code: 'PERMISSIONS_VIOLATION' }, 'replace without a filter')
    // the unnamed create takes the name from the body: on its own subject it would replace the durable
    const body = JSONCodec().encode({ stream_name: STREAM, config: { name: durable, ack_policy: 'explicit', deliver_policy: 'all', filter_subject: 'ratchet.events.nothing' } })
    await t.rejects(resource.request(`$JS.API.CONSUMER.CREATE.${STREAM}`, body, { timeout: 2_000 }), { code: 'PERMISSIONS_VIOLATION' }, 'replace through the unnamed create')
    await t.rejects(resource.request(`$JS.API.CONSUMER.DURABLE.CREATE.${STREAM}.${durable}`, body, { timeout: 2_000 }), { code: 'PERMISSIONS_VIOLATION' }, 'replace through the legacy durable create')
    // a pull would hold the auth service's events unacknowledged for the ack wait
    await t.rejects(resource.request(`$JS.API.CONSUMER.MSG.NEXT.${STREAM}.${durable}`, JSONCodec().encode({ batch: 10, expires: 1_000_000_000 }), { timeout: 2_000 }), { code: 'PERMISSIONS_VIOLATION' }, 'pull')
    const after = await jsm.consumers.info(STREAM, durable)
    t.equal(after.config.filter_subject, filter, 'the filter is the auth service\'s')
    t.equal(after.created, before.created, 'the same consumer, not a new one')
    t.equal(after.num_ack_pending, 0, 'nothing was pulled from it')
  })
}
