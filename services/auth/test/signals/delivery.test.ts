import t from 'tap'
import { call, eventually, freePort, logIn, signUp, startReady } from '../helpers.js'
import { basic, createStream, startReceiver, type Receiver } from './receiver.js'

type Test = { teardown: (fn: () => unknown) => void }

const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked'
const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification'

const port = await freePort()
const issuer = `http://127.0.0.1:${port}`
const auth = await startReady(t, { PORT: port, ISSUER: issuer, SSF_RECEIVERS: [{ id: 'gw', secret: 'gw-secret' }, { id: 'partner', secret: 'partner-secret' }], SSF_DELIVERY_TIMEOUT: 2, SSF_RETRY_MAX_INTERVAL: 2 })
const jwksUrl = `${issuer}/.well-known/jwks.json`

async function receiverWithStream (t: Test, id: string): Promise<{ receiver: Receiver, streamId: string, credentials: string }> {
  const credentials = basic(id, `${id}-secret`)
  const receiver = await startReceiver(t, { issuer, jwksUrl, audience: id })
  const stream = await createStream(auth.url, credentials, receiver.url)
  t.teardown(async () => { await call(`${auth.url}/ssf/streams?stream_id=${stream.stream_id as string}`, { method: 'DELETE', headers: { authorization: credentials } }) })
  return { receiver, streamId: stream.stream_id, credentials }
}

/** The SETs naming this user, as the receiver verified them. */
function setsFor (receiver: Receiver, sub: string) {
  return receiver.accepted.filter((s) => s.payload.sub_id?.id === sub || s.payload.sub_id?.user?.id === sub)
}

t.test('a logout reaches the receiver as a signed CAEP session-revoked SET with the right sid', async (t) => {
  const { receiver } = await receiverWithStream(t, 'gw')
  const user = await signUp(auth.url)
  t.equal((await call(`${auth.url}/v1/logout`, { method: 'POST', token: user.access })).status, 204)
  const [set] = await eventually(() => { const s = setsFor(receiver, user.sub); return s.length > 0 ? s : undefined }, 10000)
  t.same(receiver.invalid, [], 'every SET verified against the JWKS')
  t.equal(set?.header.typ, 'secevent+jwt')
  t.ok(typeof set?.header.kid === 'string', 'names its key')
  const p = set!.payload
  t.equal(p.iss, issuer)
  t.equal(p.aud, 'gw')
  t.ok(typeof p.jti === 'string' && typeof p.iat === 'number', 'jti and iat')
  t.notOk('sub' in p, 'no sub')
  t.notOk('exp' in p, 'no exp')
  t.same(p.sub_id, { format: 'complex', session: { format: 'opaque', id: user.sid }, user: { format: 'opaque', id: user.sub } })
  t.same(Object.keys(p.events ?? {}), [SESSION_REVOKED])
  const event = p.events?.[SESSION_REVOKED]
  t.match(event, { initiating_entity: 'user', reason_admin: { en: 'logout' } })
  t.ok(Math.abs(Number(event?.event_timestamp) - Date.now() / 1000) < 60, 'event_timestamp is in seconds, about now')
})

t.test('logout-all reaches it as a user subject', async (t) => {
  const { receiver } = await receiverWithStream(t, 'gw')
  const user = await signUp(auth.url)
  await logIn(auth.url, user.email, user.password)
  t.equal((await call(`${auth.url}/v1/logout-all`, { method: 'POST', token: user.access })).status, 204)
  const sets = await eventually(() => { const s = setsFor(receiver, user.sub); return s.length > 0 ? s : undefined }, 10000)
  t.equal(sets.length, 1, 'one SET for all of the sessions')
  t.same(sets[0]?.payload.sub_id, { format: 'opaque', id: user.sub })
  t.match(sets[0]?.payload.events?.[SESSION_REVOKED], { reason_admin: { en: 'logout_all' } })
  t.same(receiver.invalid, [])
})

t.test('a password change reaches it as a user subject, and the new session is not covered', async (t) => {
  const { receiver } = await receiverWithStream(t, 'gw')
  const user = await signUp(auth.url)
  const changed = await call(`${auth.url}/v1/password`, { body: { current_password: user.password, new_password: 'a brand new passphrase' }, token: user.access })
  t.equal(changed.status, 200)
  const sets = await eventually(() => { const s = setsFor(receiver, user.sub); return s.length > 0 ? s : undefined }, 10000)
  t.equal(sets.length, 1)
  t.same(sets[0]?.payload.sub_id, { format: 'opaque', id: user.sub })
  const event = sets[0]?.payload.events?.[SESSION_REVOKED]
  t.match(event, { reason_admin: { en: 'password_changed' }, initiating_entity: 'user' })
  // the receiver denies tokens of this user issued before event_timestamp: the new one survives
  const fresh = JSON.parse(Buffer.from(String(changed.body.access_token).split('.')[1] ?? '', 'base64url').toString()) as { auth_time: number }
  const old = JSON.parse(Buffer.from(user.access.split('.')[1] ?? '', 'base64url').toString()) as { auth_time: number }
  t.ok(old.auth_time < Number(event?.event_timestamp), 'the old session started before the cut-off')
  t.ok(fresh.auth_time >= Number(event?.event_timestamp), 'the new session did not')
  t.same(receiver.invalid, [])
})

t.test('a verification request gets a verification SET with the state and the stream as subject', async (t) => {
  const { receiver, streamId, credentials } = await receiverWithStream(t, 'gw')
  t.equal((await call(`${auth.url}/ssf/verify`, { body: { stream_id: streamId, state: 'state-123' }, headers: { authorization: credentials } })).status, 204)
  const set = await eventually(() => receiver.accepted.find((s) => s.payload.events?.[VERIFICATION] !== undefined), 10000)
  t.same(set.payload.sub_id, { format: 'opaque', id: streamId })
  t.same(set.payload.events?.[VERIFICATION], { state: 'state-123' })
})

t.test('a receiver answering 503 for a while, then 202, gets every SET exactly once, and the other receiver is not held up', async (t) => {
  const flaky = await receiverWithStream(t, 'gw')
  const steady = await receiverWithStream(t, 'partner')
  let refusing = true
  flaky.receiver.answer(() => refusing ? 503 : 202)
  const users = await Promise.all(Array.from({ length: 5 }, async () => await signUp(auth.url)))
  for (const u of users) t.equal((await call(`${auth.url}/v1/logout`, { method: 'POST', token: u.access })).status, 204)
  const subs = new Set(users.map((u) => u.sub))
  const mine = (r: Receiver) => r.accepted.filter((s) => subs.has(String(s.payload.sub_id?.user?.id)))
  await eventually(() => mine(steady.receiver).length === 5 || undefined, 10000)
  t.equal(mine(flaky.receiver).length, 0, 'nothing accepted while refusing')
  await eventually(() => flaky.receiver.attempts >= 2 || undefined, 10000)
  const metrics = await (await fetch(`${auth.url}/metrics`)).text()
  t.match(metrics, new RegExp(`ratchet_ssf_deliveries_total\\{receiver="gw",stream="${flaky.streamId}",result="rejected"\\} [1-9]`), 'the failures are counted')
  t.match(metrics, new RegExp(`ratchet_ssf_queue_depth\\{receiver="gw",stream="${flaky.streamId}"\\} 5`), 'the backlog is measured')
  t.match(metrics, new RegExp(`ratchet_ssf_oldest_undelivered_age_seconds\\{receiver="gw",stream="${flaky.streamId}"\\} [0-9.]+`))
  refusing = false
  await eventually(() => mine(flaky.receiver).length >= 5 || undefined, 15000)
  // anything in flight lands before we count
  await eventually(async () => {
    const m = await (await fetch(`${auth.url}/metrics`)).text()
    return new RegExp(`ratchet_ssf_queue_depth\\{receiver="gw",stream="${flaky.streamId}"\\} 0`).test(m) || undefined
  }, 10000)
  const jtis = mine(flaky.receiver).map((s) => s.payload.jti)
  t.equal(jtis.length, 5, 'five SETs accepted')
  t.equal(new Set(jtis).size, 5, 'no SET twice')
  t.same(new Set(mine(flaky.receiver).map((s) => s.payload.sub_id?.session?.id)), new Set(users.map((u) => u.sid)), 'one per session')
  t.same(flaky.receiver.invalid, [])
  t.equal(mine(steady.receiver).length, 5, 'the steady receiver got each once too')
})

t.test('a receiver that does not answer is timed out and retried', async (t) => {
  const { receiver } = await receiverWithStream(t, 'gw')
  let hang = true
  const held: Array<() => void> = []
  receiver.answer(() => 202)
  // a receiver that accepts the connection and never answers: the push times out
  const server = (await import('node:http')).createServer((_req, res) => { if (hang) held.push(() => res.destroy()); else { res.writeHead(202); res.end() } })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { for (const h of held) h(); server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) })
  const addr = server.address()
  const silentUrl = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/events`
  const credentials = basic('partner', 'partner-secret')
  const stream = await createStream(auth.url, credentials, silentUrl)
  t.teardown(async () => { await call(`${auth.url}/ssf/streams?stream_id=${stream.stream_id as string}`, { method: 'DELETE', headers: { authorization: credentials } }) })
  const user = await signUp(auth.url)
  await call(`${auth.url}/v1/logout`, { method: 'POST', token: user.access })
  await eventually(async () => {
    const m = await (await fetch(`${auth.url}/metrics`)).text()
    return new RegExp(`ratchet_ssf_deliveries_total\\{receiver="partner",stream="${stream.stream_id as string}",result="timeout"\\} [1-9]`).test(m) || undefined
  }, 10000)
  await eventually(() => setsFor(receiver, user.sub).length === 1 || undefined, 10000)
  t.pass('the other receiver had it meanwhile')
  hang = false
  await eventually(async () => {
    const m = await (await fetch(`${auth.url}/metrics`)).text()
    return new RegExp(`ratchet_ssf_deliveries_total\\{receiver="partner",stream="${stream.stream_id as string}",result="delivered"\\} 1`).test(m) || undefined
  }, 15000)
})
