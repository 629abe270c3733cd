import t from 'tap'
import * as oauth from 'oauth4webapi'
import { call, decodeJwt, startAuth, startAuthAtIssuer, uniqueEmail } from '../helpers.js'

// A standard OAuth client library (oauth4webapi), not our code, drives the
// endpoints: if it accepts our answers, other software will too.
const insecure = { [oauth.allowInsecureRequests]: true }
const client: oauth.Client = { client_id: 'first-party' }

async function discover (issuer: string) {
  const url = new URL(issuer)
  return await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { ...insecure, algorithm: 'oauth2' }))
}

async function signup (url: string) {
  return (await call(`${url}/v1/signup`, { body: { email: uniqueEmail(), password: 'oauth-password' } })).body
}

t.test('RFC 8414 discovery names the endpoints, grants and auth methods', async (t) => {
  const { url, config } = await startAuthAtIssuer(t)
  const as = await discover(config.ISSUER)
  t.equal(as.issuer, config.ISSUER)
  t.equal(as.token_endpoint, `${url}/oauth/token`)
  t.equal(as.revocation_endpoint, `${url}/oauth/revoke`)
  t.equal(as.introspection_endpoint, `${url}/oauth/introspect`)
  t.equal(as.jwks_uri, `${url}/.well-known/jwks.json`)
  t.ok(as.grant_types_supported?.includes('refresh_token'))
  t.same(as.token_endpoint_auth_methods_supported, ['none'])
  t.ok(Array.isArray(as.response_types_supported))
})

t.test('the refresh_token grant rotates, and the new access token passes RFC 9068 validation', async (t) => {
  const { url, config } = await startAuthAtIssuer(t, { REFRESH_REUSE_GRACE: 0 })
  const as = await discover(config.ISSUER)
  const first = await signup(url)
  const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first.refresh_token, insecure)
  const result = await oauth.processRefreshTokenResponse(as, client, response)
  t.equal(result.token_type, 'bearer')
  t.type(result.refresh_token, 'string')
  t.not(result.refresh_token, first.refresh_token)
  const request = new Request('http://resource.example/v1/me', { headers: { authorization: `Bearer ${result.access_token}` } })
  const claims = await oauth.validateJwtAccessToken(as, request, config.AUDIENCE, insecure)
  t.equal(claims.client_id, 'first-party')
  t.equal(claims.iss, config.ISSUER)
  t.equal(claims.sub, first.user.id)
  const replay = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first.refresh_token, insecure)
  const refused = await oauth.processRefreshTokenResponse(as, client, replay).then(() => undefined, (err: unknown) => err)
  t.match(refused, { error: 'invalid_grant' }, 'the rotated-out token is refused as invalid_grant')
})

t.test('a narrower scope may be asked for, a wider one is invalid_scope', async (t) => {
  const { url } = await startAuth(t)
  const first = await signup(url)
  const form = (body: Record<string, string>) => call(`${url}/oauth/token`, { body: new URLSearchParams(body).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  const narrow = await form({ grant_type: 'refresh_token', client_id: 'first-party', refresh_token: first.refresh_token, scope: 'notes:read' })
  t.equal(narrow.status, 200)
  t.equal(decodeJwt(narrow.body.access_token).payload.scope, 'notes:read')
  const wide = await form({ grant_type: 'refresh_token', client_id: 'first-party', refresh_token: narrow.body.refresh_token, scope: 'notes:read admin' })
  t.equal(wide.status, 400)
  t.same(wide.body.error, 'invalid_scope')
})

t.test('token endpoint errors follow RFC 6749 §5.2', async (t) => {
  const { url } = await startAuth(t)
  const first = await signup(url)
  const form = (body: Record<string, string>) => call(`${url}/oauth/token`, { body: new URLSearchParams(body).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  const password = await form({ grant_type: 'password', client_id: 'first-party', username: 'a', password: 'b' })
  t.match([password.status, password.body.error], [400, 'unsupported_grant_type'], 'the password grant is refused')
  const noGrant = await form({ client_id: 'first-party' })
  t.match([noGrant.status, noGrant.body.error], [400, 'invalid_request'])
  const noClient = await form({ grant_type: 'refresh_token', refresh_token: first.refresh_token })
  t.match([noClient.status, noClient.body.error], [400, 'invalid_request'])
  const otherClient = await form({ grant_type: 'refresh_token', client_id: 'someone-else', refresh_token: first.refresh_token })
  t.match([otherClient.status, otherClient.body.error], [401, 'invalid_client'])
  const garbage = await form({ grant_type: 'refresh_token', client_id: 'first-party', refresh_token: 'nope' })
  t.match([garbage.status, garbage.body.error], [400, 'invalid_grant'])
  t.equal(garbage.headers.get('cache-control'), 'no-store')
  const json = await call(`${url}/oauth/token`, { body: { grant_type: 'refresh_token' } })
  t.equal(json.status, 415, 'the token endpoint takes form-encoded bodies only')
})

t.test('RFC 7009 revocation of a refresh token ends the session; unknown tokens get 200', async (t) => {
  const { url, config } = await startAuthAtIssuer(t)
  const as = await discover(config.ISSUER)
  const first = await signup(url)
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), first.refresh_token, insecure))
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: first.refresh_token } })).status, 401)
  const unknown = await oauth.revocationRequest(as, client, oauth.None(), 'not-a-token', insecure)
  t.equal(unknown.status, 200)
})

t.test('RFC 7009 revocation of an access token ends its session too', async (t) => {
  const { url, config } = await startAuthAtIssuer(t)
  const as = await discover(config.ISSUER)
  const first = await signup(url)
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), first.access_token, { ...insecure, additionalParameters: { token_type_hint: 'access_token' } }))
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: first.refresh_token } })).status, 401)
})

t.test('RFC 7662 introspection needs credentials and reports activity truthfully', async (t) => {
  const { url, config } = await startAuthAtIssuer(t, { INTROSPECTION_CLIENTS: 'resource-server:s3cret' })
  const as = await discover(config.ISSUER)
  const rs: oauth.Client = { client_id: 'resource-server' }
  const first = await signup(url)
  const introspect = async (token: string) => await oauth.processIntrospectionResponse(as, rs, await oauth.introspectionRequest(as, rs, oauth.ClientSecretBasic('s3cret'), token, insecure))
  const active = await introspect(first.access_token)
  t.match(active, { active: true, sub: first.user.id, client_id: 'first-party', scope: 'notes:read notes:write', token_type: 'Bearer' })
  t.match(await introspect(first.refresh_token), { active: true, token_type: 'refresh_token' })
  t.match(await introspect('eyJhbGciOiJub25lIn0.e30.'), { active: false })
  const wrong = await oauth.introspectionRequest(as, rs, oauth.ClientSecretBasic('wrong'), first.access_token, insecure)
  t.equal(wrong.status, 401)
  t.match(await wrong.json(), { error: 'invalid_client' })
  await call(`${url}/v1/logout`, { method: 'POST', token: first.access_token })
  t.match(await introspect(first.access_token), { active: false }, 'a revoked session\'s access token is inactive')
  t.match(await introspect(first.refresh_token), { active: false })
})

t.test('introspection is refused when no resource-server credentials are configured', async (t) => {
  const { url } = await startAuth(t)
  const res = await call(`${url}/oauth/introspect`, { body: 'token=abc', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from('x:y').toString('base64') } })
  t.equal(res.status, 401)
  t.equal(res.body.error, 'invalid_client')
})
