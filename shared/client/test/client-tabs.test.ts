import t from 'tap'
import { broadcastLock, createClient, defaultLock, localLock, memoryStorage, webStorage, type ClientEvents, type RefreshLock, type StoredTokens, type TokenStorage } from '@ratchet/client'
import { eventually, failures, PASSWORD, startFixture, untilExpired } from './client-fixture.js'

/** Runs `n` overlapping critical sections through the locks, round robin; answers the most that ran at once. */
async function maxConcurrency (locks: RefreshLock[], n: number): Promise<number> {
  let inside = 0
  let most = 0
  await Promise.all(Array.from({ length: n }, (_, i) => locks[i % locks.length]!.run(async () => {
    inside++
    most = Math.max(most, inside)
    await new Promise((resolve) => setTimeout(resolve, 2))
    inside--
  })))
  return most
}

t.test('a local lock runs its holders one at a time, and goes on after one fails', async (t) => {
  const lock = localLock()
  t.equal(await maxConcurrency([lock], 20), 1)
  await t.rejects(lock.run(() => Promise.reject(new Error('boom'))), { message: 'boom' })
  t.equal(await lock.run(async () => 'next'), 'next')
})

t.test('broadcast locks of one name exclude each other across channels', async (t) => {
  const name = `test-lock-${Math.random()}`
  // the default settle time: the protocol relies on claims arriving within it
  const tabs = [broadcastLock(name), broadcastLock(name), broadcastLock(name)]
  t.teardown(() => { for (const tab of tabs) tab.close() })
  t.equal(await maxConcurrency(tabs, 30), 1)
})

t.test('a broadcast lock left held by a closed tab is taken over once stale', async (t) => {
  const name = `test-lock-${Math.random()}`
  const gone = broadcastLock(name, { settleMs: 5 })
  const tab = broadcastLock(name, { settleMs: 5, staleMs: 200 })
  t.teardown(() => tab.close())
  let entered = (): void => {}
  const holding = new Promise<void>((resolve) => { entered = resolve })
  // the first tab takes the lock and never lets go (its page was closed)
  gone.run(() => { entered(); return new Promise<never>(() => {}) }).catch(() => {})
  await holding
  t.equal(await tab.run(async () => 'taken over'), 'taken over')
  gone.close()
})

t.test('in Node, the default lock is an in-process one', async (t) => {
  const lock = defaultLock('ratchet:test')
  t.equal(lock.close, undefined, 'no BroadcastChannel is opened where there are no tabs')
  t.equal(await maxConcurrency([lock], 10), 1)
})

t.test('two tabs sharing storage refresh once across an expiry, through a broadcast lock', async (t) => {
  const fixture = await startFixture(t, { ttlMs: 400, refreshDelayMs: 30 })
  const storage = memoryStorage() // stands in for localStorage: one store, two tabs
  const name = `ratchet:refresh:${Math.random()}`
  const tabs = [0, 1].map(() => createClient({ authUrl: fixture.url, storage, lock: broadcastLock(name, { settleMs: 5 }), refreshMarginSeconds: 0.1, jitterSeconds: 0 }))
  t.teardown(() => { for (const tab of tabs) tab.close() })
  const login = await tabs[0]!.login('ada@example.com', PASSWORD)
  fixture.ttlMs = 60_000 // the refreshed token outlives the burst, however slow the machine
  await untilExpired(fixture, login.access_token)

  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => tabs[i % 2]!.fetch(`${fixture.url}/me`)))
  t.same(failures(answers), [], 'every call succeeded')
  t.equal(fixture.counts.refresh, 1, 'the second tab found the first tab\'s tokens after taking the lock')
  t.equal(fixture.sessions()[0]!.revoked, false)
})

/** One localStorage seen from two tab processes: a write reaches the other view `lagMs` later. */
function laggingStorage (lagMs: number): [TokenStorage, TokenStorage] {
  const views: Array<StoredTokens | null> = [null, null]
  const view = (i: number): TokenStorage => ({
    get: () => views[i]!,
    set: (tokens) => { views[i] = tokens; setTimeout(() => { views[1 - i] = tokens }, lagMs) },
    clear: () => { views[i] = null; setTimeout(() => { views[1 - i] = null }, lagMs) }
  })
  return [view(0), view(1)]
}

t.test('the lock holder hands the new pair to the tab waiting for the lock: storage that propagates late is not relied on', async (t) => {
  const fixture = await startFixture(t, { ttlMs: 400, refreshDelayMs: 30 })
  const views = laggingStorage(300)
  const name = `ratchet:refresh:${Math.random()}`
  const tabs = views.map((storage) => createClient({ authUrl: fixture.url, storage, lock: broadcastLock(name, { settleMs: 5 }), refreshMarginSeconds: 0.1, jitterSeconds: 0 }))
  t.teardown(() => { for (const tab of tabs) tab.close() })
  const login = await tabs[0]!.login('ada@example.com', PASSWORD)
  await eventually(async () => (await tabs[1]!.claims()) !== null)
  fixture.ttlMs = 60_000
  await untilExpired(fixture, login.access_token)

  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => tabs[i % 2]!.fetch(`${fixture.url}/me`)))
  t.same(failures(answers), [], 'every call succeeded')
  t.equal(fixture.counts.refresh, 1, 'one refresh: the second tab had the new pair before it held the lock')
  t.equal(fixture.sessions()[0]!.revoked, false, 'no reuse')
})

t.test('a sign-out reaches every tab at once, without a call', async (t) => {
  const fixture = await startFixture(t)
  const storage = memoryStorage() // stands in for localStorage
  const tabs = [0, 1, 2].map(() => createClient({ authUrl: fixture.url, storage }))
  t.teardown(() => { for (const tab of tabs) tab.close() })
  await tabs[0]!.login('ada@example.com', PASSWORD)
  for (const tab of tabs) t.equal((await tab.fetch(`${fixture.url}/me`)).status, 200)
  const out: string[] = []
  tabs.forEach((tab, i) => tab.on('signedout', ({ reason }) => out.push(`${i}:${reason}`)))
  await tabs[0]!.logout()
  await eventually(() => out.length === 3)
  t.same(out.sort(), ['0:logout', '1:gone', '2:gone'])
})

t.test('a tab notices that another tab signed out', async (t) => {
  const fixture = await startFixture(t)
  const storage = memoryStorage()
  const [a, b] = [0, 1].map(() => createClient({ authUrl: fixture.url, storage, lock: localLock() }))
  const out: Array<ClientEvents['signedout']> = []
  b!.on('signedout', (detail) => out.push(detail))
  await a!.login('ada@example.com', PASSWORD)
  t.equal((await b!.fetch(`${fixture.url}/me`)).status, 200)
  await a!.logout()
  await t.rejects(b!.fetch(`${fixture.url}/me`), { code: 'RATCHET_CLIENT_SIGNED_OUT' })
  await t.rejects(b!.fetch(`${fixture.url}/me`), { code: 'RATCHET_CLIENT_SIGNED_OUT' })
  t.same(out, [{ reason: 'gone' }])
})

t.test('webStorage keeps the pair under one key and takes anything unreadable for no session', async (t) => {
  // the three Storage methods the adapter uses, over a Map (Node has no localStorage)
  const map = new Map<string, string>()
  const store = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => { map.set(k, v) }, removeItem: (k: string) => { map.delete(k) } }
  const storage = webStorage(store, 'app.tokens')
  t.equal(storage.get(), null)
  storage.set({ access_token: 'a', refresh_token: 'r', extra: 'dropped' } as never)
  t.same(JSON.parse(map.get('app.tokens')!), { access_token: 'a', refresh_token: 'r' })
  t.same(storage.get(), { access_token: 'a', refresh_token: 'r' })
  map.set('app.tokens', '{not json')
  t.equal(storage.get(), null)
  map.set('app.tokens', '{"access_token":1,"refresh_token":"r"}')
  t.equal(storage.get(), null)
  storage.clear()
  t.equal(map.has('app.tokens'), false)
})
