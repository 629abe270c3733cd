// The caller's own access token at the auth service's Bearer routes, which @fastify/jwt
// verifies (plugins/jwt.ts) with the key its kid names on the ring: over real HTTP, a
// token of the key's own algorithm only, an unknown kid refused, and logout's
// expired-is-fine mode kept apart from the other routes'.
import t from 'tap'
import { createPrivateKey, sign } from 'node:crypto'
import { call, decodeJwt, startAuth, uniqueEmail } from '../helpers.js'

const basic = `Basic ${Buffer.from('rs:secret').toString('base64')}`
const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

async function signUp (url: string) {
  const r = await call(`${url}/v1/signup`, { body: { email: uniqueEmail(), password: 'long-enough' } })
  return r.body.access_token as string
}

t.test('a PS256 key verifies PS256 tokens only: the same key\'s RS256 signature over the same claims is refused', async (t) => {
  const auth = await startAuth(t, { ACCESS_TOKEN_ALG: 'PS256', INTROSPECTION_CLIENTS: [{ id: 'rs', secret: 'secret' }] })
  const token = await signUp(auth.url)
  t.equal((await call(`${auth.url}/v1/sessions`, { token })).status, 200, 'the token as issued')

  // what an RSA key would verify if the algorithm came from the key's type (RS256 through PS512)
  const { header, payload } = decodeJwt(token)
  const key = createPrivateKey({ key: auth.app.signingKeys.ring().signingKey.privateJwk, format: 'jwk' })
  const input = `${segment({ ...header, alg: 'RS256' })}.${segment(payload)}`
  const forged = `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`
  const refused = await call(`${auth.url}/v1/sessions`, { token: forged })
  t.equal(refused.status, 401)
  t.match(refused.headers.get('www-authenticate'), /error="invalid_token", error_description="[^"]*algorithm/)
  const introspect = async (tok: string) => (await call(`${auth.url}/oauth/introspect`, { body: `token=${tok}`, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic } })).body.active
  t.equal(await introspect(token), true)
  t.equal(await introspect(forged), false, 'a token in a body is held to the key\'s algorithm too')
})

t.test('an unknown kid, a missing kid and a bad signature are each a 401 that says which', async (t) => {
  const auth = await startAuth(t)
  const token = await signUp(auth.url)
  const [h, p, s] = token.split('.') as [string, string, string]
  const header = decodeJwt(token).header
  const cases: Array<[string, string, RegExp]> = [
    ['an unknown kid', `${segment({ ...header, kid: 'not-a-key' })}.${p}.${s}`, /unknown key/],
    ['no kid', `${segment({ alg: header.alg, typ: header.typ })}.${p}.${s}`, /no kid/],
    ['another payload under the signature', `${h}.${segment({ ...decodeJwt(token).payload, sub: 'someone-else' })}.${s}`, /signature does not verify/],
    ['not a JWT', 'abc.def', /not a well-formed JWT/]
  ]
  for (const [name, bad, why] of cases) {
    const r = await call(`${auth.url}/v1/sessions`, { token: bad })
    t.equal(r.status, 401, name)
    t.match(r.headers.get('www-authenticate'), why, name)
  }
})

t.test('an expired token may log out, but lists no sessions', async (t) => {
  const auth = await startAuth(t, { ACCESS_TOKEN_TTL: 1, CLOCK_LEEWAY: 0 })
  const token = await signUp(auth.url)
  await new Promise((resolve) => setTimeout(resolve, 2100))
  const listed = await call(`${auth.url}/v1/sessions`, { token })
  t.equal(listed.status, 401)
  t.match(listed.headers.get('www-authenticate'), /The access token expired|the token expired/i)
  t.equal((await call(`${auth.url}/v1/logout`, { token, body: {} })).status, 204, 'logout reads it all the same')
})
