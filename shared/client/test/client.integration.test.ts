// The SDK against the real auth and resource services, in this process on port 0,
// over the machine's Redis and NATS JetStream, with three-second access tokens.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { EXPIRED_TOKEN_DESCRIPTION } from '@ratchet/shared'
import { CLIENT_ERROR_CODES, createClient, memoryStorage, type ClientEvents, type ClientOptions } from '@ratchet/client'
import { eventually, failures } from './client-fixture.js'
import { startServices as startSdkServices } from './services.js'

const PASSWORD = 'correct horse battery staple'

/** Both services with three-second access tokens and no leeway. */
const startServices = (t: Parameters<typeof startSdkServices>[0]) => startSdkServices(t, 'sdk', {
  both: {
    ISSUER: 'http://auth.sdk.test',
    // exp is the issue second rounded down plus the TTL: 3 s leaves at least 2 s of life
    ACCESS_TOKEN_TTL: 3,
    // no leeway: "expired" must come when exp says, not five seconds later
    CLOCK_LEEWAY: 0
  }
})

/** A client whose fetch counts what it sends where: refreshes and resource calls. */
function countingClient (authUrl: string, opts: Partial<ClientOptions> = {}) {
  const counts = { refresh: 0, resource: 0 }
  const client = createClient({
    authUrl,
    storage: memoryStorage(),
    fetch: (input, init) => {
      const url = input instanceof Request ? input.url : String(input)
      if (url.endsWith('/v1/refresh')) counts.refresh++
      else if (!url.startsWith(authUrl)) counts.resource++
      return fetch(input, init)
    },
    ...opts
  })
  return { client, counts }
}

/** Waits until the resource service itself answers "expired" for the token. */
async function untilExpired (resourceUrl: string, accessToken: string): Promise<void> {
  await eventually(async () => {
    const res = await fetch(`${resourceUrl}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })
    await res.body?.cancel()
    return res.status === 401 && (res.headers.get('www-authenticate') ?? '').includes(EXPIRED_TOKEN_DESCRIPTION)
  })
}

const email = () => `sdk-${randomBytes(6).toString('hex')}@example.com`

t.test('50 concurrent calls after the access token expired cause exactly one refresh', async (t) => {
  const { authUrl, resourceUrl } = await startServices(t)
  const { client, counts } = countingClient(authUrl)
  const signup = await client.signup(email(), PASSWORD)
  t.equal((await client.fetch(`${resourceUrl}/v1/me`)).status, 200)
  await untilExpired(resourceUrl, signup.access_token)

  const answers = await Promise.all(Array.from({ length: 50 }, () => client.fetch(`${resourceUrl}/v1/me`)))
  t.same(failures(answers), [], 'every call succeeded')
  t.equal(counts.refresh, 1)
  const me = await answers[0]!.json() as { sid: string }
  t.equal(me.sid, (await client.claims())?.sid, 'the same session, carried on by the rotated tokens')
})

t.test('50 concurrent calls answered "expired" by the resource service cause exactly one refresh and one retry each', async (t) => {
  const { authUrl, resourceUrl } = await startServices(t)
  // a clock 1.5 s slow (too little to be corrected) and no margin: the client sends
  // tokens the server already holds expired, so the 401 path does the refreshing
  const { client, counts } = countingClient(authUrl, { refreshMarginSeconds: 0, jitterSeconds: 0, now: () => Date.now() - 1500 })
  const signup = await client.signup(email(), PASSWORD)
  await untilExpired(resourceUrl, signup.access_token)

  const answers = await Promise.all(Array.from({ length: 50 }, () => client.fetch(`${resourceUrl}/v1/me`)))
  t.same(failures(answers), [], 'every call succeeded')
  t.equal(counts.refresh, 1)
  t.equal(counts.resource, 100)
})

t.test('a session revoked elsewhere ends in one signedout event, not a refresh loop', async (t) => {
  const { authUrl, resourceUrl } = await startServices(t)
  const { client, counts } = countingClient(authUrl)
  const out: Array<ClientEvents['signedout']> = []
  client.on('signedout', (detail) => out.push(detail))
  const signup = await client.signup(email(), PASSWORD)

  // another device of the user's ends this session with its access token
  const logout = await fetch(`${authUrl}/v1/logout`, { method: 'POST', headers: { authorization: `Bearer ${signup.access_token}` } })
  t.equal(logout.status, 204)

  // the app keeps calling; until the token expires the resource service decides, then the refresh is refused
  let error: unknown
  await eventually(async () => {
    try {
      const res = await client.fetch(`${resourceUrl}/v1/me`)
      await res.body?.cancel()
      return false
    } catch (err) {
      error = err
      return true
    }
  }, 10_000)
  t.match(error, { code: CLIENT_ERROR_CODES.SIGNED_OUT })
  t.same(out, [{ reason: 'refused' }])
  t.equal(counts.refresh, 1)

  const before = counts.resource
  for (let i = 0; i < 5; i++) await t.rejects(client.fetch(`${resourceUrl}/v1/me`), { code: CLIENT_ERROR_CODES.SIGNED_OUT })
  t.equal(counts.refresh, 1, 'no refresh after the session ended')
  t.equal(counts.resource, before, 'nothing is sent without a session')
  t.equal(out.length, 1)
})

t.test('login, a call, and logout against the real services', async (t) => {
  const { authUrl, resourceUrl } = await startServices(t)
  const address = email()
  const { client } = countingClient(authUrl)
  await client.signup(address, PASSWORD)
  await client.logout()
  await t.rejects(client.login(address, 'wrong password'), { code: CLIENT_ERROR_CODES.REQUEST_REFUSED, status: 401 })
  const login = await client.login(address, PASSWORD)
  const note = await client.fetch(`${resourceUrl}/v1/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hello' }) })
  t.equal(note.status, 201)
  await client.logout()
  // the refresh token of the ended session is refused
  const refresh = await fetch(`${authUrl}/v1/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: login.refresh_token }) })
  t.equal(refresh.status, 401)
  t.match(await refresh.json(), { code: 'RATCHET_INVALID_REFRESH_TOKEN' })
})
