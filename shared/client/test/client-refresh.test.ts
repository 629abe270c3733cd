import t from 'tap'
import { CLIENT_ERROR_CODES, createClient, memoryStorage, type ClientEvents } from '@ratchet/client'
import { failures, PASSWORD, startFixture, untilExpired } from './client-fixture.js'

async function signedIn (t: { teardown: (fn: () => Promise<void> | void) => void }, fixtureOpts: Parameters<typeof startFixture>[1], clientOpts: Partial<Parameters<typeof createClient>[0]> = {}) {
  const fixture = await startFixture(t, fixtureOpts)
  const storage = memoryStorage()
  const client = createClient({ authUrl: fixture.url, storage, refreshMarginSeconds: 0.1, jitterSeconds: 0, ...clientOpts })
  t.teardown(() => client.close())
  const login = await client.login('ada@example.com', PASSWORD)
  // only the first token is short: refreshed ones outlive each test, however slow the machine
  fixture.ttlMs = 60_000
  return { fixture, storage, client, login }
}

t.test('50 concurrent calls after the token expired cause one refresh before any is sent', async (t) => {
  const { fixture, client, login } = await signedIn(t, { ttlMs: 400, refreshDelayMs: 50 })
  await untilExpired(fixture, login.access_token)
  const answers = await Promise.all(Array.from({ length: 50 }, () => client.fetch(`${fixture.url}/me`)))
  t.same(failures(answers), [], 'every call succeeded')
  t.equal(fixture.counts.refresh, 1)
  t.equal(fixture.counts.resource, 50, 'the token was refreshed before the calls, none needed a retry')
})

t.test('50 concurrent calls answered "expired" cause one refresh and one retry each', async (t) => {
  // no exp in the payload: the client cannot see the expiry coming, only the 401 tells it
  const { fixture, client, login } = await signedIn(t, { ttlMs: 300, omitExp: true })
  await untilExpired(fixture, login.access_token)
  const answers = await Promise.all(Array.from({ length: 50 }, () => client.fetch(`${fixture.url}/me`)))
  t.same(failures(answers), [], 'every call succeeded')
  t.equal(fixture.counts.refresh, 1)
  t.equal(fixture.counts.resource, 100)
})

t.test('a call answered "expired" after the refresh finished reuses its tokens instead of refreshing again', async (t) => {
  let releaseSlow = (): void => {}
  const slowGate = new Promise<void>((resolve) => { releaseSlow = resolve })
  // holds the answer to the request marked slow until the other call has refreshed
  const gated = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init)
    if (input instanceof Request && input.headers.has('x-slow')) await slowGate
    return res
  }
  const { fixture, client, login } = await signedIn(t, { ttlMs: 300, omitExp: true }, { fetch: gated })
  await untilExpired(fixture, login.access_token)

  const slow = client.fetch(`${fixture.url}/me`, { headers: { 'x-slow': '1' } })
  const quick = await client.fetch(`${fixture.url}/me`)
  t.equal(quick.status, 200)
  t.equal(fixture.counts.refresh, 1)
  releaseSlow()
  t.equal((await slow).status, 200)
  t.equal(fixture.counts.refresh, 1)
  t.equal(fixture.counts.resource, 4)
})

t.test('a request is retried only once, with the same body', async (t) => {
  const { fixture, client, login } = await signedIn(t, { ttlMs: 300, omitExp: true })
  await untilExpired(fixture, login.access_token)
  const res = await client.fetch(`${fixture.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hello"}' })
  t.equal(res.status, 200)
  t.equal((await res.json() as { echo: string }).echo, '{"text":"hello"}')
  t.equal(fixture.counts.resource, 2)

  fixture.alwaysExpired = true
  const stuck = await client.fetch(`${fixture.url}/me`)
  t.equal(stuck.status, 401, 'a second "expired" is handed to the caller')
  t.equal(fixture.counts.refresh, 2)
  t.equal(fixture.counts.resource, 4)
})

t.test('a refused refresh ends in one signedout event, not a loop', async (t) => {
  const { fixture, client, storage, login } = await signedIn(t, { ttlMs: 300, refreshDelayMs: 20 })
  const out: Array<ClientEvents['signedout']> = []
  client.on('signedout', (detail) => out.push(detail))
  fixture.revokeAll() // a logout elsewhere
  await untilExpired(fixture, login.access_token)

  const results = await Promise.allSettled(Array.from({ length: 50 }, () => client.fetch(`${fixture.url}/me`)))
  t.ok(results.every((r) => r.status === 'rejected' && (r.reason as { code: string }).code === CLIENT_ERROR_CODES.SIGNED_OUT))
  await t.rejects(client.fetch(`${fixture.url}/me`), { code: CLIENT_ERROR_CODES.SIGNED_OUT })
  t.equal(fixture.counts.refresh, 1)
  t.equal(fixture.counts.resource, 0)
  t.same(out, [{ reason: 'refused' }])
  t.equal(await storage.get(), null)
})

t.test('a token refused as revoked makes the client ask the auth service once, which ends the session', async (t) => {
  const { fixture, client, storage } = await signedIn(t, { ttlMs: 60_000 })
  const out: Array<ClientEvents['signedout']> = []
  client.on('signedout', (detail) => out.push(detail))
  fixture.revokeAll()
  await t.rejects(client.fetch(`${fixture.url}/me`), { code: CLIENT_ERROR_CODES.SIGNED_OUT })
  t.equal(fixture.counts.refresh, 1)
  t.same(out, [{ reason: 'refused' }], 'signed out at the first call after the revocation')
  t.equal(await storage.get(), null)
})

t.test('a token refused for another reason is refreshed once; refused again, the answers are handed back without a loop', async (t) => {
  const { fixture, client } = await signedIn(t, { ttlMs: 60_000 })
  fixture.refuseAccess = 'The token was signed with an unknown key'
  const first = await client.fetch(`${fixture.url}/me`)
  t.equal(first.status, 401)
  t.equal(fixture.counts.refresh, 1, 'one check with the auth service')
  t.equal(fixture.counts.resource, 2, 'sent, refreshed, sent once more')
  const second = await client.fetch(`${fixture.url}/me`)
  t.equal(second.status, 401)
  t.equal(fixture.counts.refresh, 1, 'the fresh token refused again is handed back')
  fixture.refuseAccess = null
  t.equal((await client.fetch(`${fixture.url}/me`)).status, 200)
})

t.test('an unavailable auth service keeps the session and lets an unexpired token through', async (t) => {
  let shift = 0 // moves the client's clock only after login measured it
  const { fixture, client, storage, login } = await signedIn(t, { ttlMs: 10_000 }, { refreshMarginSeconds: 4, now: () => Date.now() + shift })
  fixture.refreshStatus = 503
  shift = 7000 // due (4 s before exp), not expired

  t.equal((await client.fetch(`${fixture.url}/me`)).status, 200)
  t.equal(fixture.counts.refresh, 1)
  t.equal((await storage.get())?.access_token, login.access_token)

  shift = 11_000 // expired by the client's clock: there is nothing worth sending
  await t.rejects(client.fetch(`${fixture.url}/me`), { code: CLIENT_ERROR_CODES.AUTH_UNAVAILABLE, status: 503 })
  t.equal(fixture.counts.resource, 1)
  t.equal((await storage.get())?.access_token, login.access_token)

  fixture.refreshStatus = null
  t.equal((await client.fetch(`${fixture.url}/me`)).status, 200)
  t.not((await storage.get())?.access_token, login.access_token)
})

t.test('a device clock an hour fast does not refresh on every call', async (t) => {
  const { fixture, client } = await signedIn(t, { ttlMs: 60_000 }, { refreshMarginSeconds: 30, now: () => Date.now() + 3_600_000 })
  for (let i = 0; i < 10; i++) t.equal((await client.fetch(`${fixture.url}/me`)).status, 200)
  t.equal(fixture.counts.refresh, 0)
})

t.test('a device clock an hour slow still refreshes before sending an expired token', async (t) => {
  const { fixture, client, login } = await signedIn(t, { ttlMs: 300 }, { now: () => Date.now() - 3_600_000 })
  await untilExpired(fixture, login.access_token)
  t.equal((await client.fetch(`${fixture.url}/me`)).status, 200)
  t.equal(fixture.counts.refresh, 1)
  t.equal(fixture.counts.resource, 1, 'refreshed up front, not after a 401')
})

t.test('refresh() rotates the tokens once for concurrent callers and announces them', async (t) => {
  const { fixture, client, storage, login } = await signedIn(t, { ttlMs: 60_000, refreshDelayMs: 20 })
  const events: Array<ClientEvents['tokens']> = []
  client.on('tokens', (detail) => events.push(detail))
  const [a, b] = await Promise.all([client.refresh(), client.refresh()])
  t.same(a, b)
  t.not(a.refresh_token, login.refresh_token)
  t.same(await storage.get(), a)
  t.equal(fixture.counts.refresh, 1)
  t.same(events, [{ reason: 'refresh', tokens: a }])
})

t.test('an unexpected refresh answer keeps the session', async (t) => {
  const { fixture, client, storage } = await signedIn(t, { ttlMs: 60_000 })
  fixture.refreshStatus = 404 // a wrong authUrl path says nothing about the session
  await t.rejects(client.refresh(), { code: CLIENT_ERROR_CODES.AUTH_UNAVAILABLE, status: 404 })
  t.not(await storage.get(), null)
})
