// DPoP end to end: the SDK with `dpop: true`, and a standard client (oauth4webapi),
// against the real auth and resource services on port 0, the machine's Redis and NATS.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import * as oauth from 'oauth4webapi'
import { createClient, createDpop, memoryStorage, type StoredTokens } from '@ratchet/client'
import { startServices as startSdkServices } from './services.js'

const startServices = (t: Parameters<typeof startSdkServices>[0]) => startSdkServices(t, 'dpop', {
  both: { ISSUER: 'http://auth.dpop.test' },
  auth: { REFRESH_REUSE_GRACE: 0 }
})

const email = () => `dpop-${randomBytes(5).toString('hex')}@example.com`
const PASSWORD = 'correct horse battery staple'

t.test('the SDK with dpop: true binds its session and calls the resource service with proofs', async (t) => {
  const { authUrl, resourceUrl } = await startServices(t)
  const storage = memoryStorage()
  const client = createClient({ authUrl, storage, dpop: true })
  t.teardown(() => client.close())
  const signed = await client.signup(email(), PASSWORD)
  t.equal(signed.token_type, 'DPoP')
  t.match(await client.claims(), { cnf: { jkt: String } })
  t.equal((await client.fetch(`${resourceUrl}/v1/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'bound' }) })).status, 201)
  const fresh = await client.refresh()
  t.equal((await (await client.fetch(`${resourceUrl}/v1/notes`)).json() as { notes: unknown[] }).notes.length, 1, 'after a refresh too')

  // what a thief copies out of storage is worth nothing without the key
  const stolen = await storage.get() as StoredTokens
  t.equal(stolen.access_token, fresh.access_token)
  const asBearer = await fetch(`${resourceUrl}/v1/notes`, { headers: { authorization: `Bearer ${stolen.access_token}` } })
  t.equal(asBearer.status, 401)
  t.match(asBearer.headers.get('www-authenticate'), /^DPoP .*error="invalid_token"/)
  const withOwnKey = await createDpop().wrap(fetch)(`${resourceUrl}/v1/notes`, { headers: { authorization: `DPoP ${stolen.access_token}` } })
  t.equal(withOwnKey.status, 401)
  t.match(withOwnKey.headers.get('www-authenticate'), /error="invalid_dpop_proof"/)
  const refreshAlone = await fetch(`${authUrl}/v1/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: stolen.refresh_token }) })
  t.equal(refreshAlone.status, 400)
  await client.logout()
})

t.test('oauth4webapi refreshes at /oauth/token with DPoP and calls the resource service with the bound token', async (t) => {
  const { authUrl, resourceUrl } = await startServices(t)
  const signup = await (await fetch(`${authUrl}/v1/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: email(), password: PASSWORD }) })).json() as { refresh_token: string }
  const as: oauth.AuthorizationServer = { issuer: 'http://auth.dpop.test', token_endpoint: `${authUrl}/oauth/token` }
  const client: oauth.Client = { client_id: 'first-party' }
  const insecure = { [oauth.allowInsecureRequests]: true }
  const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  const tokens = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), signup.refresh_token, { ...insecure, DPoP }))
  t.equal(tokens.token_type, 'dpop')
  const me = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(`${resourceUrl}/v1/me`), undefined, undefined, { ...insecure, DPoP })
  t.equal(me.status, 200)
  const notes = await oauth.protectedResourceRequest(tokens.access_token, 'POST', new URL(`${resourceUrl}/v1/notes`), new Headers({ 'content-type': 'application/json' }), JSON.stringify({ text: 'from oauth4webapi' }), { ...insecure, DPoP })
  t.equal(notes.status, 201)
  const next = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { ...insecure, DPoP }))
  t.equal((await oauth.protectedResourceRequest(next.access_token, 'GET', new URL(`${resourceUrl}/v1/notes`), undefined, undefined, { ...insecure, DPoP })).status, 200)
  const other = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  const wrongKey = await oauth.protectedResourceRequest(next.access_token, 'GET', new URL(`${resourceUrl}/v1/me`), undefined, undefined, { ...insecure, DPoP: other }).then((r) => r.status, (e: unknown) => (e as { status?: number }).status ?? e)
  t.equal(wrongKey, 401)
})
