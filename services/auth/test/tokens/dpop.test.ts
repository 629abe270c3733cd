// DPoP at the auth service (RFC 9449 §4.3, §5, §8), through real sockets and the
// real Redis: sessions bound at sign-in, refreshes that need the same key, proofs
// that are refused, and a standard client (oauth4webapi) at /oauth/token.
import t from 'tap'
import * as oauth from 'oauth4webapi'
import { jwkThumbprint } from '@ratchet/shared'
import { call, decodeJwt, startAuth, startAuthAtIssuer, uniqueEmail, type Started } from '../helpers.js'
import { proof, testKey, type ProofOptions, type TestKey } from '../../../../shared/test/dpop-fixture.js'

const PASSWORD = 'dpop-password-1'
const insecure = { [oauth.allowInsecureRequests]: true }
const client: oauth.Client = { client_id: 'first-party' }

function withProof (s: Started, key: TestKey, path: string, o: Partial<ProofOptions> = {}): Record<string, string> {
  return { dpop: proof(key, { htm: 'POST', htu: `${s.url}${path}`, ...o }) }
}

async function signUp (s: Started, key?: TestKey, o: Partial<ProofOptions> = {}) {
  return await call(`${s.url}/v1/signup`, { body: { email: uniqueEmail(), password: PASSWORD }, headers: key !== undefined ? withProof(s, key, '/v1/signup', o) : {} })
}

async function refresh (s: Started, refreshToken: string, headers: Record<string, string> = {}) {
  return await call(`${s.url}/v1/refresh`, { body: { refresh_token: refreshToken }, headers })
}

t.test('a sign-up with a proof gets a DPoP-bound session: token_type DPoP and cnf.jkt', async (t) => {
  const s = await startAuth(t)
  const key = testKey()
  const res = await signUp(s, key)
  t.equal(res.status, 201)
  t.equal(res.body.token_type, 'DPoP')
  t.same(decodeJwt(res.body.access_token).payload.cnf, { jkt: jwkThumbprint(key.jwk) })
  const plain = await signUp(s)
  t.equal(plain.body.token_type, 'Bearer', 'without a proof, Bearer as before')
  t.equal(decodeJwt(plain.body.access_token).payload.cnf, undefined)
})

t.test('a bound refresh needs a proof by the same key; a stolen refresh token alone is worth nothing', async (t) => {
  const s = await startAuth(t, { REFRESH_REUSE_GRACE: 0 })
  const key = testKey()
  const first = (await signUp(s, key)).body

  const alone = await refresh(s, first.refresh_token)
  t.equal(alone.status, 400)
  t.match(alone.body, { code: 'RATCHET_INVALID_DPOP_PROOF', message: /DPoP-bound/ })
  const thief = await refresh(s, first.refresh_token, withProof(s, testKey(), '/v1/refresh'))
  t.equal(thief.status, 401)
  t.match(thief.body, { code: 'RATCHET_INVALID_REFRESH_TOKEN', message: /another DPoP key/ })

  // the refusals changed nothing: the owner still refreshes, once
  const next = await refresh(s, first.refresh_token, withProof(s, key, '/v1/refresh'))
  t.equal(next.status, 200)
  t.equal(next.body.token_type, 'DPoP')
  t.same(decodeJwt(next.body.access_token).payload.cnf, { jkt: jwkThumbprint(key.jwk) })
})

t.test('a Bearer session is bound by the first proof it refreshes with', async (t) => {
  const s = await startAuth(t)
  const key = testKey()
  const first = (await signUp(s)).body
  const bound = await refresh(s, first.refresh_token, withProof(s, key, '/v1/refresh'))
  t.equal(bound.body.token_type, 'DPoP')
  t.equal((await refresh(s, bound.body.refresh_token)).status, 400, 'from then on, no refresh without the key')
})

t.test('every proof check refuses a bad proof with 400 invalid_dpop_proof, before any password work', async (t) => {
  const s = await startAuth(t)
  const key = testKey()
  const cases: Array<[string, Partial<ProofOptions>, RegExp]> = [
    ['alg none', { header: { alg: 'none' }, unsigned: true }, /alg none is not accepted/],
    ['HS256', { header: { alg: 'HS256' }, hmacSecret: 'x' }, /alg HS256 is not accepted/],
    ['a private key in jwk', { header: { jwk: key.privateKey.export({ format: 'jwk' }) } }, /public key only/],
    ['typ JWT', { header: { typ: 'JWT' } }, /typ must be dpop\+jwt/],
    ['another method', { htm: 'GET' }, /htm does not match/],
    ['another URL', { htu: `${s.url}/v1/login` }, /htu does not match/],
    ['a stale iat', { iat: Math.floor(Date.now() / 1000) - 300 }, /older than 60 seconds/],
    ['a signature by another key', { header: { jwk: testKey().jwk } }, /signature does not verify/]
  ]
  for (const [what, o, message] of cases) {
    const res = await signUp(s, key, o)
    t.equal(res.status, 400, what)
    t.match(res.body, { code: 'RATCHET_INVALID_DPOP_PROOF', message }, what)
  }
})

t.test('a proof is accepted once, by any auth instance (the replay cache is shared in Redis)', async (t) => {
  const a = await startAuth(t)
  const b = await startAuth(t, { REDIS_PREFIX: a.config.REDIS_PREFIX, NATS_STREAM: a.config.NATS_STREAM, NATS_SUBJECT_PREFIX: a.config.NATS_SUBJECT_PREFIX })
  const key = testKey()
  const email = uniqueEmail()
  t.equal((await call(`${a.url}/v1/signup`, { body: { email, password: PASSWORD } })).status, 201)
  // the same proof (jti) against both: the URL differs only by port, so name one public URL
  const dpop = proof(key, { htm: 'POST', htu: 'https://auth.example.com/v1/login' })
  const [first, second] = [
    await call(`${a.url}/v1/login`, { body: { email, password: PASSWORD }, headers: { dpop } }),
    await call(`${b.url}/v1/login`, { body: { email, password: PASSWORD }, headers: { dpop } })
  ]
  t.equal(first.status, 400, 'htu names the public URL only when PUBLIC_URL says so')
  t.equal(second.status, 400)
  await a.close(); await b.close()
  const pa = await startAuth(t, { REDIS_PREFIX: a.config.REDIS_PREFIX, PUBLIC_URL: 'https://auth.example.com' })
  const pb = await startAuth(t, { REDIS_PREFIX: a.config.REDIS_PREFIX, PUBLIC_URL: 'https://auth.example.com' })
  const ok = await call(`${pa.url}/v1/login`, { body: { email, password: PASSWORD }, headers: { dpop } })
  t.equal(ok.status, 200)
  t.equal(ok.body.token_type, 'DPoP')
  const replay = await call(`${pb.url}/v1/login`, { body: { email, password: PASSWORD }, headers: { dpop } })
  t.equal(replay.status, 400)
  t.match(replay.body, { code: 'RATCHET_INVALID_DPOP_PROOF', message: /used before/ })
})

t.test('DPOP_REQUIRED=true refuses Bearer sessions', async (t) => {
  const s = await startAuth(t, { DPOP_REQUIRED: 'true' })
  const res = await signUp(s)
  t.equal(res.status, 400)
  t.match(res.body, { code: 'RATCHET_INVALID_DPOP_PROOF', message: /DPoP-bound tokens only/ })
  t.equal((await signUp(s, testKey())).status, 201)
})

t.test('DPOP_NONCE=on: a proof without the server nonce is use_dpop_nonce, and the nonce comes in DPoP-Nonce', async (t) => {
  const s = await startAuth(t, { DPOP_NONCE: 'on' })
  const key = testKey()
  const first = await signUp(s, key)
  t.equal(first.status, 400)
  t.match(first.body, { code: 'RATCHET_USE_DPOP_NONCE' })
  const nonce = first.headers.get('dpop-nonce')
  t.type(nonce, 'string')
  t.equal((await signUp(s, key, { nonce: 'made-up' })).status, 400)
  const ok = await signUp(s, key, { nonce: nonce! })
  t.equal(ok.status, 201)
  t.equal(ok.body.token_type, 'DPoP')
})

t.test('metadata names the DPoP algorithms; introspection returns cnf', async (t) => {
  const s = await startAuth(t, { INTROSPECTION_CLIENTS: 'rs:secret' })
  const meta = await call(`${s.url}/.well-known/oauth-authorization-server`)
  t.same(meta.body.dpop_signing_alg_values_supported, ['ES256', 'EdDSA'])
  const key = testKey()
  const tokens = (await signUp(s, key)).body
  const basic = `Basic ${Buffer.from('rs:secret').toString('base64')}`
  for (const token of [tokens.access_token, tokens.refresh_token]) {
    const res = await call(`${s.url}/oauth/introspect`, { body: `token=${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic } })
    t.match(res.body, { active: true, cnf: { jkt: jwkThumbprint(key.jwk) } })
  }
})

t.test("the auth service's own routes take a bound token only as DPoP with a proof", async (t) => {
  const s = await startAuth(t)
  const key = testKey()
  const tokens = (await signUp(s, key)).body
  const at = tokens.access_token as string
  const asBearer = await call(`${s.url}/v1/sessions`, { token: at })
  t.equal(asBearer.status, 401)
  t.match(asBearer.body, { code: 'RATCHET_INVALID_ACCESS_TOKEN', message: /DPoP-bound/ })
  const get = (o: Partial<ProofOptions> = {}) => call(`${s.url}/v1/sessions`, { headers: { authorization: `DPoP ${at}`, dpop: proof(key, { htm: 'GET', htu: `${s.url}/v1/sessions`, accessToken: at, ...o }) } })
  t.equal((await get()).status, 200)
  t.match((await get({ accessToken: 'another' })).body, { code: 'RATCHET_INVALID_DPOP_PROOF', message: /ath does not match/ })
  t.equal((await get({ accessToken: 'another' })).status, 401)
  const other = testKey()
  t.equal((await call(`${s.url}/v1/sessions`, { headers: { authorization: `DPoP ${at}`, dpop: proof(other, { htm: 'GET', htu: `${s.url}/v1/sessions`, accessToken: at }) } })).status, 401)
  const logout = await call(`${s.url}/v1/logout`, { method: 'POST', headers: { authorization: `DPoP ${at}`, dpop: proof(key, { htu: `${s.url}/v1/logout`, accessToken: at }) } })
  t.equal(logout.status, 204)
})

t.test('oauth4webapi refreshes a bound session at /oauth/token with its DPoP support', async (t) => {
  const s = await startAuthAtIssuer(t, { REFRESH_REUSE_GRACE: 0, DPOP_NONCE: 'on' })
  const as = await oauth.processDiscoveryResponse(new URL(s.config.ISSUER), await oauth.discoveryRequest(new URL(s.config.ISSUER), { ...insecure, algorithm: 'oauth2' }))
  const keyPair = await oauth.generateKeyPair('ES256')
  const DPoP = oauth.DPoP(client, keyPair)
  // a stolen refresh token of a bound session, alone and with another key
  const jwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey) as Record<string, unknown>
  const grant = async (refreshToken: string, handle = DPoP) => {
    const attempt = async () => await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, { ...insecure, DPoP: handle }))
    // §8: the first answer asks for a nonce, which the handle has remembered
    try { return await attempt() } catch (err) { if (oauth.isDPoPNonceError(err)) return await attempt(); throw err }
  }
  const first = (await signUp(s)).body
  const bound = await grant(first.refresh_token)
  t.equal(bound.token_type, 'dpop')
  t.same(decodeJwt(bound.access_token).payload.cnf, { jkt: jwkThumbprint(jwk) })
  const again = await grant(bound.refresh_token!)
  t.equal(again.token_type, 'dpop')

  const stolen = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), again.refresh_token!, insecure)).then(() => undefined, (e: unknown) => e)
  t.match(stolen, { error: 'invalid_dpop_proof' })
  const otherKey = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  const wrong = await grant(again.refresh_token!, otherKey).then(() => undefined, (e: unknown) => e)
  t.match(wrong, { error: 'invalid_grant' })
  t.equal((await grant(again.refresh_token!)).token_type, 'dpop', 'the owner carries on')
})
