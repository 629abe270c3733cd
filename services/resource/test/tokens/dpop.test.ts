// DPoP at the resource service (RFC 9449 §7), through real sockets: every way a
// stolen or replayed bound token can be presented, and the answer each gets.
import t, { type Test } from 'tap'
import { jwkThumbprint } from '@ratchet/shared'
import { call, nowSec, start, type Started } from '../helpers.js'
import { proof, testKey, type ProofOptions, type TestKey } from '../../../../shared/test/dpop-fixture.js'

interface Bound { s: Started, key: TestKey, token: string }

async function bound (t: Parameters<typeof start>[0], config: Parameters<typeof start>[1] = {}): Promise<Bound> {
  const s = await start(t, config)
  const key = testKey('ES256')
  return { s, key, token: s.token({ cnf: { jkt: jwkThumbprint(key.jwk) } }) }
}

/** Calls with `Authorization: DPoP <token>` and a proof (by default a valid one for this request). */
async function withProof (b: Bound, path: string, o: Partial<ProofOptions> & { method?: string, key?: TestKey, token?: string, dpop?: string | null, scheme?: string } = {}) {
  const method = o.method ?? 'GET'
  const token = o.token ?? b.token
  const headers: Record<string, string> = { authorization: `${o.scheme ?? 'DPoP'} ${token}` }
  const p = o.dpop === undefined ? proof(o.key ?? b.key, { htm: method, htu: `${b.s.url}${path}`, accessToken: token, ...o }) : o.dpop
  if (p !== null) headers.dpop = p
  const body = method === 'POST' ? JSON.stringify({ text: 'hi' }) : undefined
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${b.s.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) })
  const text = await res.text()
  return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '', body: text === '' ? null : JSON.parse(text) }
}

function refusedProof (t: Test, res: Awaited<ReturnType<typeof withProof>>, why: RegExp) {
  t.equal(res.status, 401)
  t.match(res.challenge, /^DPoP realm="ratchet", error="invalid_dpop_proof", error_description="[^"]+", algs="ES256 EdDSA"$/)
  t.match(res.body, { code: 'RATCHET_INVALID_DPOP_PROOF', message: why })
}

t.test('a bound token with a valid proof is served, a fresh proof each request', async (t) => {
  const b = await bound(t)
  const me = await withProof(b, '/v1/me')
  t.equal(me.status, 200)
  t.equal((await withProof(b, '/v1/notes', { method: 'POST' })).status, 201)
  t.equal((await withProof(b, '/v1/notes')).body.notes.length, 1)
})

t.test('the verified-token cache still applies, the proof is checked every time', async (t) => {
  const b = await bound(t)
  t.equal((await withProof(b, '/v1/me')).status, 200)
  const hits = b.s.app.verifier.cacheHits
  const p = proof(b.key, { htm: 'GET', htu: `${b.s.url}/v1/me`, accessToken: b.token })
  t.equal((await withProof(b, '/v1/me', { dpop: p })).status, 200)
  t.equal(b.s.app.verifier.cacheHits, hits + 1, 'the token came from the cache')
  refusedProof(t, await withProof(b, '/v1/me', { dpop: p }), /used before/)
  refusedProof(t, await withProof(b, '/v1/me', { dpop: null }), /proof is required/)
})

t.test('a bound token sent as Bearer is invalid_token with a DPoP challenge', async (t) => {
  const b = await bound(t)
  const res = await call(`${b.s.url}/v1/me`, { token: b.token })
  t.equal(res.status, 401)
  t.match(res.headers.get('www-authenticate'), /^DPoP realm="ratchet", error="invalid_token", error_description="The access token is DPoP-bound[^"]*", algs="ES256 EdDSA"$/)
  t.match(res.body, { code: 'RATCHET_INVALID_ACCESS_TOKEN' })
  // a proof alongside does not help: the scheme says it is a bearer token
  t.equal((await withProof(b, '/v1/me', { scheme: 'Bearer' })).status, 401)
})

t.test('a proof for another method or another URL is refused', async (t) => {
  const b = await bound(t)
  refusedProof(t, await withProof(b, '/v1/notes', { method: 'POST', htm: 'GET' }), /htm does not match the request method POST/)
  refusedProof(t, await withProof(b, '/v1/me', { htu: `${b.s.url}/v1/notes` }), /htu does not match/)
  refusedProof(t, await withProof(b, '/v1/me', { htu: 'http://elsewhere.example/v1/me' }), /htu does not match/)
  t.equal((await withProof(b, '/v1/me?x=1', { htu: `${b.s.url}/v1/me` })).status, 200, 'the query is not part of htu')
})

t.test('a stale or future iat is refused', async (t) => {
  const b = await bound(t)
  refusedProof(t, await withProof(b, '/v1/me', { iat: nowSec() - 120 }), /older than 60 seconds/)
  refusedProof(t, await withProof(b, '/v1/me', { iat: nowSec() + 120 }), /in the future/)
})

t.test('a proof by another key, or for another token, is refused', async (t) => {
  const b = await bound(t)
  refusedProof(t, await withProof(b, '/v1/me', { key: testKey('ES256') }), /another key/)
  const other = b.s.token({ cnf: { jkt: jwkThumbprint(b.key.jwk) } })
  refusedProof(t, await withProof(b, '/v1/me', { accessToken: other }), /ath does not match/)
  refusedProof(t, await withProof(b, '/v1/me', { claims: { ath: undefined } }), /needs an ath/)
})

t.test('proofs signed with alg none, HS256, or carrying a private key are refused', async (t) => {
  const b = await bound(t)
  refusedProof(t, await withProof(b, '/v1/me', { header: { alg: 'none' }, unsigned: true }), /alg none is not accepted/)
  refusedProof(t, await withProof(b, '/v1/me', { header: { alg: 'HS256' }, hmacSecret: 'guess' }), /alg HS256 is not accepted/)
  refusedProof(t, await withProof(b, '/v1/me', { header: { jwk: b.key.privateKey.export({ format: 'jwk' }) } }), /public key only/)
  refusedProof(t, await withProof(b, '/v1/me', { header: { typ: 'JWT' } }), /typ must be dpop\+jwt/)
})

t.test('garbage in the DPoP header is a 401, never a 500', async (t) => {
  const b = await bound(t)
  for (const dpop of ['x', 'a.b.c', '..', '\u00e9.e30.AA', 'e30.e30.e30', `${'A'.repeat(9000)}.e30.AA`]) {
    const res = await withProof(b, '/v1/me', { dpop: encodeURI(dpop) })
    t.equal(res.status, 401, dpop.slice(0, 20))
    t.match(res.body, { code: 'RATCHET_INVALID_DPOP_PROOF' })
  }
})

t.test('unbound tokens keep working as Bearer, and are refused under the DPoP scheme', async (t) => {
  const s = await start(t)
  const plain = s.token()
  t.equal((await call(`${s.url}/v1/me`, { token: plain })).status, 200)
  const key = testKey('ES256')
  const res = await withProof({ s, key, token: plain }, '/v1/me')
  t.equal(res.status, 401)
  t.match(res.challenge, /^DPoP .*error="invalid_token", error_description="The access token is not DPoP-bound/)
})

t.test('token failures under the DPoP scheme answer with a DPoP challenge', async (t) => {
  const b = await bound(t)
  const expired = b.s.token({ cnf: { jkt: jwkThumbprint(b.key.jwk) }, iat: nowSec() - 1000, exp: nowSec() - 100 })
  const res = await withProof(b, '/v1/me', { token: expired })
  t.equal(res.status, 401)
  t.match(res.challenge, /^DPoP realm="ratchet", error="invalid_token", error_description="The access token expired", algs="ES256 EdDSA"$/)
  const reader = b.s.token({ cnf: { jkt: jwkThumbprint(b.key.jwk) }, scope: 'notes:read' })
  const denied = await withProof(b, '/v1/notes', { token: reader, method: 'POST' })
  t.equal(denied.status, 403)
  t.match(denied.challenge, /^DPoP .*error="insufficient_scope".*scope="notes:write"/)
  const malformed = await fetch(`${b.s.url}/v1/me`, { headers: { authorization: 'DPoP ' } })
  t.equal(malformed.status, 400)
  t.match(malformed.headers.get('www-authenticate'), /^DPoP .*error="invalid_request"/)
  const badCnf = await withProof(b, '/v1/me', { token: b.s.token({ cnf: { x5t: 'abc' } }) })
  t.equal(badCnf.status, 401)
  t.match(badCnf.body, { message: /cnf must hold a jkt/ })
})

t.test('behind a proxy, proofs name PUBLIC_URL', async (t) => {
  const b = await bound(t, { config: { PUBLIC_URL: 'https://api.example.com/resource' } })
  t.equal((await withProof(b, '/v1/me', { htu: 'https://api.example.com/resource/v1/me' })).status, 200)
  refusedProof(t, await withProof(b, '/v1/me'), /htu does not match the request URL https:\/\/api\.example\.com\/resource\/v1\/me/)
})
