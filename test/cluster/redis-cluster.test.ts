import t from 'tap'
import { randomBytes } from 'node:crypto'
import { connect } from 'nats'
import { Cluster } from 'ioredis'
import { logRedisErrors, redisKeys } from '@ratchet/shared'
import { call, decodeJwt, eventually, freePort, testLog, testRedis, uniqueEmail } from '../support.js'
import { startRedisCluster } from './redis-cluster.js'
import { startAuthInstance, startResourceInstance, type Deployment } from './services.js'

// The integration flow once more, with both services on a real 3-master Redis
// Cluster: every script, MULTI and pipeline must stay within one slot.
t.test('the flow runs on a 3-master Redis Cluster', async (t) => {
  const cluster = await startRedisCluster(t, 3)
  const id = randomBytes(5).toString('hex')
  const port = await freePort()
  const deployment: Deployment = {
    REDIS_CLUSTER_NODES: cluster.nodes,
    REDIS_PREFIX: `test:${id}:`,
    NATS_STREAM: `TEST_${id}`,
    NATS_SUBJECT_PREFIX: `test_${id}`,
    ISSUER: `http://127.0.0.1:${port}`,
    ACCESS_TOKEN_TTL: 60,
    // no grace: the old refresh token presented again is a reuse at once
    REFRESH_REUSE_GRACE: 0,
    // the limit counters live in Redis too
    RATE_LIMITS: 'on'
  }
  const auth = await startAuthInstance(t, deployment, port)
  t.teardown(async () => {
    const nc = await connect({ servers: auth.config.NATS_URL })
    try { await (await nc.jetstreamManager()).streams.delete(auth.config.NATS_STREAM) } catch {} finally { await nc.close() }
  })
  // the resource service names the cluster the other way: a redis+cluster:// URL
  const resource = await startResourceInstance(t, deployment, { REDIS_URL: `redis+cluster://${cluster.nodes.join(',')}`, REDIS_CLUSTER_NODES: [] })
  const password = 'a long enough password'
  const email = uniqueEmail()

  const signup = await call(`${auth.url}/v1/signup`, { body: { email, password } })
  t.equal(signup.status, 201, 'sign-up')
  const uid = signup.body.user.id as string
  t.equal((await call(`${auth.url}/v1/signup`, { body: { email, password } })).status, 409, 'the address is claimed once')

  const login = await call(`${auth.url}/v1/login`, { body: { email, password } })
  t.equal(login.status, 200, 'login')
  t.equal((await call(`${resource.url}/v1/me`, { token: login.body.access_token })).status, 200, 'the resource service accepts the token')

  // rotation, then the old refresh token again: reuse ends the session
  const rotated = await call(`${auth.url}/v1/refresh`, { body: { refresh_token: login.body.refresh_token } })
  t.equal(rotated.status, 200, 'refresh rotates')
  t.not(rotated.body.refresh_token, login.body.refresh_token)
  const sessions = await call(`${auth.url}/v1/sessions`, { token: rotated.body.access_token })
  t.equal(sessions.status, 200, 'sessions are listed (a pipeline within one slot)')
  t.ok((sessions.body.sessions as Array<{ sid: string }>).some((s) => s.sid === decodeJwt(login.body.access_token).payload.sid))
  const reused = await call(`${auth.url}/v1/refresh`, { body: { refresh_token: login.body.refresh_token } })
  t.equal(reused.status, 401, 'a reused refresh token is refused')
  t.equal((await call(`${auth.url}/v1/refresh`, { body: { refresh_token: rotated.body.refresh_token } })).status, 401, 'and the whole session ended with it')
  await eventually(async () => (await call(`${resource.url}/v1/me`, { token: rotated.body.access_token })).status === 401 ? true : undefined, 10000, 20)
  t.pass('the resource service rejects the reused session')

  // notes CRUD on the notes:{uid} hash
  const created = await call(`${resource.url}/v1/notes`, { token: signup.body.access_token, body: { text: 'remember the milk' } })
  t.equal(created.status, 201, 'a note is created')
  const listed = await call(`${resource.url}/v1/notes`, { token: signup.body.access_token })
  t.match(listed.body, { notes: [{ id: created.body.id, text: 'remember the milk' }] })
  t.equal((await call(`${resource.url}/v1/notes/${created.body.id as string}`, { method: 'DELETE', token: signup.body.access_token })).status, 204, 'a note is deleted')
  t.same((await call(`${resource.url}/v1/notes`, { token: signup.body.access_token })).body, { notes: [] })

  // logout-all: the script that walks sessions:{uid} and deletes session:{uid}:* keys
  const second = await call(`${auth.url}/v1/login`, { body: { email, password } })
  const all = await call(`${auth.url}/v1/logout-all`, { method: 'POST', token: second.body.access_token })
  t.equal(all.status, 204, 'logout-all')
  for (const ended of [signup.body, second.body]) {
    t.equal((await call(`${auth.url}/v1/refresh`, { body: { refresh_token: ended.refresh_token } })).status, 401, 'logout-all ended the session in Redis')
    await eventually(async () => (await call(`${resource.url}/v1/me`, { token: ended.access_token })).status === 401 ? true : undefined, 10000, 20)
  }
  t.pass('the resource service rejects every session logout-all ended')

  // logout of one session
  const third = await call(`${auth.url}/v1/login`, { body: { email, password } })
  t.equal((await call(`${resource.url}/v1/me`, { token: third.body.access_token })).status, 200, 'a login after logout-all lives')
  t.equal((await call(`${auth.url}/v1/logout`, { method: 'POST', token: third.body.access_token })).status, 204, 'logout')
  const rejected = await eventually(async () => {
    const res = await call(`${resource.url}/v1/me`, { token: third.body.access_token })
    return res.status === 401 ? res : undefined
  }, 10000, 20)
  t.match(rejected.headers.get('www-authenticate'), /revoked/, 'the resource service rejects the logged-out token')
  t.equal((await call(`${auth.url}/v1/refresh`, { body: { refresh_token: third.body.refresh_token } })).status, 401)

  // it all happened on the cluster, not on the machine's own Redis
  const onCluster = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })), { keyPrefix: deployment.REDIS_PREFIX })
  const single = testRedis(auth.config.REDIS_URL, { keyPrefix: deployment.REDIS_PREFIX })
  logRedisErrors(onCluster, testLog, "the test's Redis Cluster client")
  t.teardown(() => { onCluster.disconnect(); single.disconnect() })
  for (const key of [redisKeys.user(uid), redisKeys.email(email), redisKeys.signingKeys()]) {
    // one key per call: keys in different slots cannot share a command on a cluster
    t.equal(await onCluster.exists(key), 1, `${key} is on the cluster`)
    t.equal(await single.exists(key), 0, `${key} is not on the single server`)
  }
})
