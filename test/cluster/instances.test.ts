import t from 'tap'
import { connect } from 'nats'
import { eventCounters } from '../../services/auth/src/events/index.js'
import { call, decodeJwt, dropPrefix, eventually, freePort, isolation, uniqueEmail } from '../support.js'
import { startAuthInstance, startResourceInstance, type Deployment } from './services.js'
import { pool } from './pool.js'

const LOGOUTS = 10

// Two auth and two resource instances on one Redis and one NATS behave as one:
// keys are shared, each outbox entry is published once, and every resource
// instance receives every revocation.
t.test('two auth and two resource instances behave as one', async (t) => {
  const portA = await freePort()
  const deployment: Deployment = { ...isolation(), ISSUER: `http://127.0.0.1:${portA}`, ACCESS_TOKEN_TTL: 300 }
  const a = await startAuthInstance(t, deployment, portA)
  t.teardown(async () => {
    const nc = await connect({ servers: a.config.NATS_URL })
    try { await (await nc.jetstreamManager()).streams.delete(a.config.NATS_STREAM) } catch {} finally { await nc.close() }
    await dropPrefix(a.config.REDIS_URL, a.config.REDIS_PREFIX)
  })
  const b = await startAuthInstance(t, deployment)
  // one resource instance reads the keys from A, the other from B
  const r1 = await startResourceInstance(t, deployment)
  const r2 = await startResourceInstance(t, deployment, { JWKS_URL: `${b.url}/.well-known/jwks.json` })
  const resources = [r1, r2]
  const email = uniqueEmail()
  const password = 'a long enough password'

  t.test('a token pair from auth A refreshes at auth B, and both resource instances accept it', async (t) => {
    const signup = await call(`${a.url}/v1/signup`, { body: { email, password } })
    t.equal(signup.status, 201)
    const refreshed = await call(`${b.url}/v1/refresh`, { body: { refresh_token: signup.body.refresh_token } })
    t.equal(refreshed.status, 200, 'B accepts the refresh token A issued')
    t.equal(decodeJwt(refreshed.body.access_token).header.kid, decodeJwt(signup.body.access_token).header.kid, 'both sign with the same key')
    for (const r of resources) {
      t.equal((await call(`${r.url}/v1/me`, { token: signup.body.access_token })).status, 200)
      t.equal((await call(`${r.url}/v1/me`, { token: refreshed.body.access_token })).status, 200)
    }
    t.equal((await call(`${a.url}/v1/refresh`, { body: { refresh_token: refreshed.body.refresh_token } })).status, 200, 'and A accepts the one B issued')
  })

  t.test('a logout at either auth instance is rejected at both resource instances, relayed once', async (t) => {
    const before = { published: eventCounters.published, duplicates: eventCounters.duplicates }
    const sessions = await pool(Array.from({ length: LOGOUTS }), 4, async (_, i) => {
      const login = await call(`${i % 2 === 0 ? a.url : b.url}/v1/login`, { body: { email, password } })
      if (login.status !== 200) throw new Error(`login answered ${login.status}`)
      return login.body.access_token as string
    })
    // half the logouts at A, half at B: each relay finds entries the other wrote
    const statuses = await pool(sessions, 5, async (token, i) => (await call(`${i % 2 === 0 ? a.url : b.url}/v1/logout`, { method: 'POST', token })).status)
    t.same(statuses, sessions.map(() => 204))
    for (const r of resources) {
      for (const token of sessions) {
        const res = await eventually(async () => {
          const got = await call(`${r.url}/v1/me`, { token })
          return got.status === 401 ? got : undefined
        }, 10000, 20)
        t.match(res.headers.get('www-authenticate'), /revoked/)
      }
    }
    const nc = await connect({ servers: a.config.NATS_URL })
    t.teardown(async () => { await nc.close() })
    const jsm = await nc.jetstreamManager()
    const messages = await eventually(async () => {
      const n = (await jsm.streams.info(a.config.NATS_STREAM)).state.messages
      return n >= LOGOUTS ? n : undefined
    }, 10000, 50)
    t.equal(messages, LOGOUTS, 'one event on the stream per logout')
    t.equal(eventCounters.published - before.published, LOGOUTS, 'the two relays published each outbox entry once between them')
    t.equal(eventCounters.duplicates - before.duplicates, 0, 'and never one the stream already had')
  })
})
