import t from 'tap'
import { randomBytes } from 'node:crypto'
import { connect, type NatsConnection } from 'nats'
import { redisKeys } from '@ratchet/shared'
import { call, decodeJwt, eventually, freePort, testRedis, uniqueEmail } from '../support.js'
import { startNatsCluster } from './nats-cluster.js'
import { startAuthInstance, startResourceInstance, type Deployment } from './services.js'
import { pool } from './pool.js'

const SESSIONS = 100

async function streamSids (nc: NatsConnection, stream: string): Promise<string[]> {
  const jsm = await nc.jetstreamManager()
  const { state } = await jsm.streams.info(stream)
  const sids: string[] = []
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq })
    sids.push((m.json() as { sid: string }).sid)
  }
  return sids
}

// A 3-node JetStream cluster with the stream on every node: a node dies in the
// middle of a burst of logouts, and not one revocation is lost.
t.test('no revocation is lost when a NATS node dies during a burst of logouts', async (t) => {
  const nats = await startNatsCluster(t, 3)
  const id = randomBytes(5).toString('hex')
  const port = await freePort()
  const deployment: Deployment = {
    NATS_URL: nats.servers,
    NATS_STREAM_REPLICAS: 3,
    REDIS_PREFIX: `test:${id}:`,
    NATS_STREAM: `TEST_${id}`,
    NATS_SUBJECT_PREFIX: `test_${id}`,
    ISSUER: `http://127.0.0.1:${port}`,
    // the tokens must stay valid for the whole test: only a revocation rejects them
    ACCESS_TOKEN_TTL: 600,
    // the sign-up's session and the burst's stay under the cap: an eviction would put
    // one more session.revoked on the stream than the logouts did
    MAX_SESSIONS_PER_USER: SESSIONS + 1
  }
  const auth = await startAuthInstance(t, deployment, port)
  const resource = await startResourceInstance(t, deployment)
  const nc = await connect({ servers: nats.servers })
  t.teardown(async () => { await nc.close() })
  const redis = testRedis(auth.config.REDIS_URL, { keyPrefix: auth.config.REDIS_PREFIX })
  t.teardown(async () => {
    const keys = await redis.keys(`${auth.config.REDIS_PREFIX}*`)
    if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(auth.config.REDIS_PREFIX.length)))
    redis.disconnect()
  })

  const jsm = await nc.jetstreamManager()
  const info = await eventually(async () => {
    const i = await jsm.streams.info(auth.config.NATS_STREAM).catch(() => undefined)
    return i?.cluster?.leader !== undefined && i.cluster.leader !== '' ? i : undefined
  }, 20000, 100)
  t.equal(info.config.num_replicas, 3, 'the auth service created the stream with NATS_STREAM_REPLICAS copies')
  // the victim: the node holding the resource service's consumer (an ephemeral one has a
  // single copy), the harshest loss for it; the stream itself has a copy on every node
  const ephemeral = await eventually(async () => {
    const all = await jsm.consumers.list(auth.config.NATS_STREAM).next()
    return all.find((c) => c.config.durable_name === undefined && c.cluster?.leader !== undefined)
  }, 20000, 100)
  const victim = nats.nodes.find((n) => n.name === ephemeral.cluster?.leader)
  if (victim === undefined) throw new Error(`no node holds the resource service's consumer: ${JSON.stringify(ephemeral.cluster)}`)

  const email = uniqueEmail()
  const password = 'a long enough password'
  t.equal((await call(`${auth.url}/v1/signup`, { body: { email, password } })).status, 201)
  const sessions = await pool(Array.from({ length: SESSIONS }), 4, async () => {
    const res = await call(`${auth.url}/v1/login`, { body: { email, password } })
    if (res.status !== 200) throw new Error(`login answered ${res.status}`)
    return res.body.access_token as string
  })
  const accepted = await pool(sessions, 10, async (token) => (await call(`${resource.url}/v1/me`, { token })).status)
  t.ok(accepted.every((s) => s === 200), 'the resource service accepts every session before the logouts')

  // the burst; the stream's leader is killed once a third of it went out
  let done = 0
  const kill = (async () => {
    await eventually(() => done >= SESSIONS / 3 ? true : undefined, 60000, 2)
    await victim.kill()
    t.comment(`killed ${victim.name} (${victim.name === info.cluster?.leader ? 'also' : 'not'} the stream's leader) after ${done} of ${SESSIONS} logouts`)
  })()
  const statuses = await pool(sessions, 10, async (token) => {
    const res = await call(`${auth.url}/v1/logout`, { method: 'POST', token })
    done++
    return res.status
  })
  await kill
  t.same(statuses.filter((s) => s !== 204), [], 'every logout succeeded (the outbox, not NATS, is in the request path)')

  const expected = sessions.map((token) => decodeJwt(token).payload.sid as string).sort()
  const onStream = await eventually(async () => {
    const sids = await streamSids(nc, auth.config.NATS_STREAM).catch(() => [])
    return sids.length >= SESSIONS ? sids : undefined
  }, 30000, 200)
  t.same(onStream.sort(), expected, 'every revocation is on the stream, once')
  t.equal(await eventually(async () => (await redis.xlen(redisKeys.outbox())) === 0 ? 0 : undefined, 30000, 100), 0, 'the outbox is empty')
  const rejected = await pool(sessions, 10, async (token) => await eventually(async () => {
    const res = await call(`${resource.url}/v1/me`, { token })
    return res.status === 401 ? res.headers.get('www-authenticate') : undefined
  }, 60000, 50))
  t.ok(rejected.every((h) => h !== null && /revoked/.test(h)), `every one of the ${SESSIONS} logged-out tokens is rejected by the resource service`)
})
