import t from 'tap'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { createSessionStore } from '../../src/stores/sessions.js'
import { eventually, natsClient, sessionExists, signUp, startAuth, startReady } from '../helpers.js'

t.test('a user.revoked applied late ends only sessions that started before its arrival plus the leeway', async (t) => {
  const first = await startReady(t, { CLOCK_LEEWAY: 1 })
  const victim = await signUp(first.url)
  // the auth service is away when the forged event arrives, so it applies it later
  await first.close()
  const nc = await natsClient(t)
  const sent = Date.now()
  await nc.jetstream().publish(`${first.config.NATS_SUBJECT_PREFIX}.events.user.revoked`,
    JSON.stringify({ id: randomUUID(), sub: victim.sub, before: sent / 1000 + 86_400, reason: 'logout_all', at: sent / 1000 }))
  // a login after the arrival (past the leeway), recorded while no auth service runs
  const redis = new Redis(first.config.REDIS_URL, { keyPrefix: first.config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  const later = { sub: victim.sub, sid: randomUUID(), jti: randomUUID(), clientId: 'first-party', scope: 's', now: sent + 2000, idleMs: 60_000, maxMs: 120_000, maxSessions: 100 }
  await createSessionStore(redis, first.config.REDIS_PREFIX).create(later)

  const { NATS_STREAM, NATS_SUBJECT_PREFIX, REDIS_PREFIX } = first.config
  await startAuth(t, { NATS_STREAM, NATS_SUBJECT_PREFIX, REDIS_PREFIX, CLOCK_LEEWAY: 1 })
  await eventually(async () => await sessionExists(first.config, victim.sub, victim.sid) ? undefined : true, 10000)
  t.ok(await sessionExists(first.config, victim.sub, later.sid), 'the later session survives the forged `before`')
})
