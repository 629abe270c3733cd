import t from 'tap'
import { Redis } from 'ioredis'
import { connect } from 'nats'
import { closeRedis, drainNats, withDeadline } from '@ratchet/shared'
import { eventually } from '../support.js'
import type { Test } from 'tap'
import { HANG_GUARD_MS, ownNatsServer, ownRedisServer, type OwnServer } from './servers.js'

/** 'rejected: <message>', 'resolved', or 'pending' past the hang guard. */
async function settled (p: Promise<unknown>): Promise<string> {
  return await withDeadline(p.then(() => 'resolved', (err: Error) => `rejected: ${err.message}`), HANG_GUARD_MS, 'pending')
}

/**
 * A Redis server of the test's own and a client connected to it as the outbox relay makes
 * it: commands wait for a reconnection rather than fail.
 */
async function patientClient (t: Test) {
  const server = await ownRedisServer(t)
  const redis = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 1000 })
  redis.on('error', () => {}) // the server is stopped on purpose
  await redis.ping()
  return { server, redis }
}

/** Stops the server and waits for the client to notice: from then on it is reconnecting. */
async function dropConnection (server: OwnServer, redis: Redis): Promise<void> {
  await server.stop()
  await eventually(() => redis.status === 'reconnecting' || undefined, 10_000)
}

t.test('withDeadline: the result, or the fallback past the deadline or on a rejection', async (t) => {
  // its timer never holds the process open, so hold it here while the deadline runs
  const hold = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(hold) })
  t.equal(await withDeadline(Promise.resolve(7), 1000, 'late'), 7)
  t.equal(await withDeadline(new Promise(() => {}), 10, 'late'), 'late')
  t.equal(await withDeadline(Promise.reject(new Error('no')), 1000, 'failed'), 'failed')
})

t.test('closeRedis between reconnection attempts fails a queued command instead of leaving it waiting', async (t) => {
  const { server, redis } = await patientClient(t)
  await dropConnection(server, redis)
  const queued = redis.get('k')
  t.equal(await settled(closeRedis(redis)), 'resolved')
  t.equal(await settled(queued), 'rejected: Connection is closed.')
})

t.test('closeRedis fails a blocking read that was in flight when the connection dropped', async (t) => {
  const { server, redis } = await patientClient(t)
  const blocking = redis.blpop('nothing-here', 0)
  await dropConnection(server, redis)
  t.equal(await settled(closeRedis(redis)), 'resolved')
  t.equal(await settled(blocking), 'rejected: Connection is closed.')
})

t.test('closeRedis gives up on QUIT when the server never answers', async (t) => {
  const { server, redis } = await patientClient(t)
  server.freeze()
  t.equal(await settled(closeRedis(redis)), 'resolved')
  // a half-closed socket would wait for the frozen server forever (and hold the process open)
  await eventually(() => redis.status === 'end' || undefined, 5000)
  t.pass('the connection is closed, not half-closed')
})

t.test('drainNats gives up on the drain when the server never answers, and closes', async (t) => {
  const server = await ownNatsServer(t)
  const nc = await connect({ servers: server.url })
  server.freeze()
  t.equal(await settled(drainNats(nc)), 'resolved')
  t.ok(nc.isClosed())
})
