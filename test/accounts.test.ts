// Accounts across both services, over real ports with the machine's Redis and NATS:
// what a password change, signing out other devices and deleting an account do to
// the other devices' tokens at the resource service, without waiting for expiry.
import t from 'tap'
import { connect } from 'nats'
import { randomUUID } from 'node:crypto'
import { redisKeys } from '@ratchet/shared'
import { call, decodeJwt, eventually, startSystem, testRedis, uniqueEmail, type System } from './support.js'

const PASSWORD = 'a long enough password'
const NEW_PASSWORD = 'another long password'

interface Device { access_token: string, refresh_token: string }

async function signIn (sys: System, email: string, password = PASSWORD, create = false): Promise<Device & { user?: { id: string } }> {
  const res = await call(`${sys.auth}/v1/${create ? 'signup' : 'login'}`, { body: { email, password } })
  if (res.status !== (create ? 201 : 200)) throw new Error(`sign-in failed: ${res.status}`)
  return res.body as Device & { user?: { id: string } }
}

/** Until the resource service refuses the token as revoked (it never expires meanwhile: a 60 s TTL). */
async function refusedAtResource (sys: System, token: string) {
  return await eventually(async () => {
    const res = await call(`${sys.resource}/v1/me`, { token })
    return res.status === 401 ? res : undefined
  }, 5000, 5)
}

t.test('a password change on device A signs device B out at once, and A carries on', async (t) => {
  const sys = await startSystem(t, { ACCESS_TOKEN_TTL: 60 })
  const email = uniqueEmail()
  const a = await signIn(sys, email, PASSWORD, true)
  const b = await signIn(sys, email)
  t.equal((await call(`${sys.resource}/v1/me`, { token: b.access_token })).status, 200)

  const changed = await call(`${sys.auth}/v1/password`, { token: a.access_token, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } })
  t.equal(changed.status, 200)
  const rejected = await refusedAtResource(sys, b.access_token)
  t.match(rejected.headers.get('www-authenticate'), /invalid_token.*revoked/)
  t.equal((await call(`${sys.auth}/v1/refresh`, { body: { refresh_token: b.refresh_token } })).status, 401, 'B cannot refresh')
  t.equal((await call(`${sys.resource}/v1/me`, { token: a.access_token })).status, 401, 'A\'s old token went too')

  // A carries on with the new session: resource calls and refreshes work
  t.equal((await call(`${sys.resource}/v1/notes`, { token: changed.body.access_token })).status, 200)
  const refreshed = await call(`${sys.auth}/v1/refresh`, { body: { refresh_token: changed.body.refresh_token } })
  t.equal(refreshed.status, 200)
  t.equal((await call(`${sys.resource}/v1/me`, { token: refreshed.body.access_token })).status, 200)
})

t.test('logout-others keeps exactly the caller\'s session, at both services', async (t) => {
  const sys = await startSystem(t, { ACCESS_TOKEN_TTL: 60 })
  const email = uniqueEmail()
  const devices = [await signIn(sys, email, PASSWORD, true), await signIn(sys, email), await signIn(sys, email)]
  const [first, caller, third] = devices as [Device, Device, Device]
  t.equal((await call(`${sys.auth}/v1/logout-others`, { method: 'POST', token: caller.access_token })).status, 204)
  for (const other of [first, third]) {
    await refusedAtResource(sys, other.access_token)
    t.equal((await call(`${sys.auth}/v1/refresh`, { body: { refresh_token: other.refresh_token } })).status, 401)
  }
  t.equal((await call(`${sys.resource}/v1/me`, { token: caller.access_token })).status, 200)
  const list = await call(`${sys.auth}/v1/sessions`, { token: caller.access_token })
  t.same(list.body.sessions.map((s: { sid: string }) => s.sid), [decodeJwt(caller.access_token).payload.sid])
})

t.test('deleting the account removes its notes, refuses its tokens everywhere and frees the address', async (t) => {
  const sys = await startSystem(t, { ACCESS_TOKEN_TTL: 60 })
  const redis = testRedis(sys.authConfig.REDIS_URL, { keyPrefix: sys.authConfig.REDIS_PREFIX })
  t.teardown(() => redis.disconnect())
  const email = uniqueEmail()
  const a = await signIn(sys, email, PASSWORD, true)
  const b = await signIn(sys, email)
  const sub = a.user!.id
  t.equal((await call(`${sys.resource}/v1/notes`, { token: a.access_token, body: { text: 'to be forgotten' } })).status, 201)
  t.equal(await redis.exists(redisKeys.notes(sub)), 1)

  t.equal((await call(`${sys.auth}/v1/account`, { method: 'DELETE', token: a.access_token, body: { password: PASSWORD } })).status, 204)
  await eventually(async () => await redis.exists(redisKeys.notes(sub)) === 0 ? true : undefined, 5000, 10)
  t.pass('the notes are gone')
  for (const device of [a, b]) {
    await refusedAtResource(sys, device.access_token)
    t.equal((await call(`${sys.auth}/v1/refresh`, { body: { refresh_token: device.refresh_token } })).status, 401)
    t.equal((await call(`${sys.auth}/v1/account`, { token: device.access_token })).status, 401)
  }
  t.equal((await call(`${sys.auth}/v1/account`, { method: 'DELETE', token: b.access_token, body: { password: PASSWORD } })).status, 401, 'deleting twice is a 401')

  const again = await signIn(sys, email, NEW_PASSWORD, true)
  t.not(again.user!.id, sub)
  const notes = await call(`${sys.resource}/v1/notes`, { token: again.access_token })
  t.same(notes.body, { notes: [] }, 'the new account starts empty')
})

t.test('a deletion published while no resource service runs is applied when one starts', async (t) => {
  const sys = await startSystem(t, { ACCESS_TOKEN_TTL: 60 })
  const redis = testRedis(sys.authConfig.REDIS_URL, { keyPrefix: sys.authConfig.REDIS_PREFIX })
  t.teardown(() => redis.disconnect())
  const a = await signIn(sys, uniqueEmail(), PASSWORD, true)
  t.equal((await call(`${sys.resource}/v1/notes`, { token: a.access_token, body: { text: 'kept until heard' } })).status, 201)
  await sys.stopResource()
  t.equal((await call(`${sys.auth}/v1/account`, { method: 'DELETE', token: a.access_token, body: { password: PASSWORD } })).status, 204)
  t.equal(await redis.exists(redisKeys.notes(a.user!.id)), 1, 'nobody has deleted the notes yet')
  await sys.startResource()
  await eventually(async () => await redis.exists(redisKeys.notes(a.user!.id)) === 0 ? true : undefined, 10000, 20)
  t.pass('the restarted resource service deleted them')
})

t.test('user.deleted published by another service removes the account at the auth service', async (t) => {
  const sys = await startSystem(t, { ACCESS_TOKEN_TTL: 60 })
  const email = uniqueEmail()
  const a = await signIn(sys, email, PASSWORD, true)
  const sub = a.user!.id
  const nc = await connect({ servers: sys.authConfig.NATS_URL })
  t.teardown(() => nc.close())
  const now = Date.now() / 1000
  const revoked = { id: randomUUID(), sub, before: now + 0.001, reason: 'admin', at: now }
  const deleted = { id: randomUUID(), sub, at: now }
  const prefix = sys.authConfig.NATS_SUBJECT_PREFIX
  await nc.jetstream().publish(`${prefix}.events.user.revoked`, JSON.stringify(revoked), { msgID: revoked.id })
  await nc.jetstream().publish(`${prefix}.events.user.deleted`, JSON.stringify(deleted), { msgID: deleted.id })
  await eventually(async () => (await call(`${sys.auth}/v1/login`, { body: { email, password: PASSWORD } })).status === 401 ? true : undefined, 5000, 20)
  t.equal((await call(`${sys.auth}/v1/signup`, { body: { email, password: PASSWORD } })).status, 201, 'the address is free')
})

t.test('racing a password change against a refresh on another device never leaves that device a live token', async (t) => {
  const sys = await startSystem(t, { ACCESS_TOKEN_TTL: 60, REFRESH_REUSE_GRACE: 0 })
  for (let round = 0; round < 3; round++) {
    const email = uniqueEmail()
    const a = await signIn(sys, email, PASSWORD, true)
    const b = await signIn(sys, email)
    // B rotates as fast as it can for as long as the change is under way, so that some
    // refresh lands on each side of the moment the sessions end
    const held: Device[] = [b]
    const state = { changing: true }
    const refreshing = (async () => {
      while (state.changing) {
        const res = await call(`${sys.auth}/v1/refresh`, { body: { refresh_token: held.at(-1)!.refresh_token } })
        if (res.status !== 200) return res.status
        held.push(res.body as Device)
      }
      return 200
    })()
    const changed = await call(`${sys.auth}/v1/password`, { token: a.access_token, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } })
    state.changing = false
    const last = await refreshing
    t.equal(changed.status, 200, `round ${round}: the change went through`)
    t.comment(`round ${round}: B rotated ${held.length - 1} times, its last refresh answered ${last}`)
    // whatever B holds now, the first pair or any pair a refresh handed out, is dead
    for (const tokens of held) {
      await refusedAtResource(sys, tokens.access_token)
      t.equal((await call(`${sys.auth}/v1/refresh`, { body: { refresh_token: tokens.refresh_token } })).status, 401)
    }
    t.equal((await call(`${sys.auth}/v1/sessions`, { token: held.at(-1)!.access_token })).status, 401)
    t.equal((await call(`${sys.resource}/v1/me`, { token: changed.body.access_token })).status, 200, 'A carries on')
  }
})
