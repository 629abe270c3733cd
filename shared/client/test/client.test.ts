import t from 'tap'
import { CLIENT_ERROR_CODES, createClient, memoryStorage, type ClientEvents } from '@ratchet/client'
import { PASSWORD, startFixture, untilExpired } from './client-fixture.js'

t.test('login stores the tokens and fetch sends the access token as a bearer', async (t) => {
  const fixture = await startFixture(t)
  const storage = memoryStorage()
  const client = createClient({ authUrl: fixture.url, storage })
  const tokens: Array<ClientEvents['tokens']> = []
  client.on('tokens', (detail) => tokens.push(detail))

  const response = await client.login('ada@example.com', PASSWORD)
  t.equal(response.token_type, 'Bearer')
  t.same(await storage.get(), { access_token: response.access_token, refresh_token: response.refresh_token })
  t.match(tokens, [{ reason: 'login' }])

  const res = await client.fetch(`${fixture.url}/me`)
  t.equal(res.status, 200)
  t.equal((await res.json() as { sid: string }).sid, fixture.sessions()[0]!.sid)
})

t.test('signup answers the new user and signs in', async (t) => {
  const fixture = await startFixture(t)
  const client = createClient({ authUrl: `${fixture.url}/` })
  const response = await client.signup('grace@example.com', PASSWORD)
  t.match(response.user, { email: 'grace@example.com' })
  t.match(await client.claims(), { sub: response.user.id })
  t.equal((await client.fetch(`${fixture.url}/me`)).status, 200)
})

t.test('a refused login throws REQUEST_REFUSED with the status and body, and stores nothing', async (t) => {
  const fixture = await startFixture(t)
  const storage = memoryStorage()
  const client = createClient({ authUrl: fixture.url, storage })
  await t.rejects(client.login('ada@example.com', 'wrong'), {
    code: CLIENT_ERROR_CODES.REQUEST_REFUSED,
    status: 401,
    body: { code: 'RATCHET_INVALID_CREDENTIALS' },
    message: /Invalid email or password/
  })
  t.equal(await storage.get(), null)
})

t.test('an unreachable auth service makes login throw AUTH_UNAVAILABLE', async (t) => {
  const fixture = await startFixture(t)
  const client = createClient({ authUrl: 'http://127.0.0.1:1' })
  await t.rejects(client.login('ada@example.com', PASSWORD), { code: CLIENT_ERROR_CODES.AUTH_UNAVAILABLE })
  t.equal(fixture.counts.refresh, 0)
})

t.test('fetch without a session throws SIGNED_OUT and sends nothing', async (t) => {
  const fixture = await startFixture(t)
  const client = createClient({ authUrl: fixture.url })
  await t.rejects(client.fetch(`${fixture.url}/me`), { code: CLIENT_ERROR_CODES.SIGNED_OUT })
  t.equal(fixture.counts.resource, 0)
  t.equal(await client.claims(), null)
})

t.test('logout revokes the session at the server, forgets the tokens and says signedout once', async (t) => {
  const fixture = await startFixture(t)
  const storage = memoryStorage()
  const client = createClient({ authUrl: fixture.url, storage })
  const out: Array<ClientEvents['signedout']> = []
  client.on('signedout', (detail) => out.push(detail))
  await client.login('ada@example.com', PASSWORD)

  await client.logout()
  await client.logout() // nothing left to do: no second request, no second event
  t.equal(fixture.counts.logout, 1)
  t.equal(fixture.sessions()[0]!.revoked, true)
  t.equal(await storage.get(), null)
  t.same(out, [{ reason: 'logout' }])
  await t.rejects(client.fetch(`${fixture.url}/me`), { code: CLIENT_ERROR_CODES.SIGNED_OUT })
})

t.test('logout forgets the tokens even when the auth service is unreachable, and says so', async (t) => {
  const fixture = await startFixture(t)
  const storage = memoryStorage()
  let reachable = true
  const client = createClient({
    authUrl: fixture.url,
    storage,
    fetch: (input, init) => reachable ? fetch(input, init) : Promise.reject(new TypeError('fetch failed'))
  })
  await client.login('ada@example.com', PASSWORD)
  reachable = false
  await t.rejects(client.logout(), { code: CLIENT_ERROR_CODES.AUTH_UNAVAILABLE })
  t.equal(await storage.get(), null)
})

t.test('a listener that throws does not break the client', async (t) => {
  const fixture = await startFixture(t)
  const client = createClient({ authUrl: fixture.url })
  const reported = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve))
  const off = client.on('tokens', () => { throw new Error('listener bug') })
  await client.login('ada@example.com', PASSWORD)
  t.match(await reported, { message: 'listener bug' })
  off()
  t.equal((await client.fetch(`${fixture.url}/me`)).status, 200)
})

t.test('in cookie mode the refresh token stays in an HttpOnly cookie and never reaches storage', async (t) => {
  const fixture = await startFixture(t, { ttlMs: 300, omitExp: true })
  // what a browser does for the page: keep the cookie, send it when credentials are included
  const jar = new Map<string, string>()
  const sent: Array<{ url: string, cookie: boolean, csrf: string | null }> = []
  const browserFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers)
    const url = String(input instanceof Request ? input.url : input)
    if (init?.credentials === 'include' && jar.size > 0) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '))
    if (url.includes('/v1/')) sent.push({ url: new URL(url).pathname, cookie: headers.has('cookie'), csrf: headers.get('x-ratchet-csrf') })
    const res = await fetch(input, { ...init, headers: input instanceof Request ? input.headers : headers })
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const [name, value] = pair!.split('=')
      jar.set(name!, value!)
    }
    return res
  }
  const storage = memoryStorage()
  const client = createClient({ authUrl: fixture.url, storage, fetch: browserFetch, refreshTokenIn: 'cookie' })

  const login = await client.login('ada@example.com', PASSWORD)
  t.equal(login.refresh_token, undefined)
  t.ok(jar.has('__Host-ratchet_rt'))
  t.same(Object.keys((await storage.get())!), ['access_token'])

  await untilExpired(fixture, (await storage.get())!.access_token)
  t.equal((await client.fetch(`${fixture.url}/me`)).status, 200)
  t.equal(fixture.counts.refresh, 1)
  t.match(sent.find((s) => s.url === '/v1/refresh'), { cookie: true, csrf: '1' })

  await client.logout()
  t.equal(fixture.sessions()[0]!.revoked, true, 'logout proved the session with the access token')
  t.equal(await storage.get(), null)
})
