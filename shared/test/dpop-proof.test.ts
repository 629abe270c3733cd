import t, { type Test } from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { createDpopVerifier, jwkThumbprint, accessTokenHash, type ProofRequest } from '../src/dpop/index.js'
import { proof, testKey, type ProofOptions, type TestKey } from './dpop-fixture.js'

const URL_ = 'https://auth.example.com/oauth/token'
const NOW = 1_764_345_600_000
const verifier = createDpopVerifier({ algs: ['ES256', 'EdDSA'], maxAge: 60, leeway: 5 })
const es = testKey('ES256')

function check (key: TestKey, o: Partial<ProofOptions>, req: Partial<ProofRequest> = {}) {
  const p = proof(key, { htu: URL_, iat: NOW / 1000, ...o })
  return verifier.verify({ proof: p, method: 'POST', url: URL_, now: NOW, ...req })
}

function refused (t: Test, fn: () => unknown, message: RegExp, error = 'invalid_dpop_proof') {
  t.throws(fn, { name: 'DpopProofError', oauthError: error, message })
}

t.test('RFC 7638 §3.1: the thumbprint of the RFC example key', async (t) => {
  const jwk = {
    kty: 'RSA',
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
    alg: 'RS256',
    kid: '2011-04-29'
  }
  t.equal(jwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
  t.throws(() => jwkThumbprint({ kty: 'oct', k: 'x' }), TypeError)
  t.throws(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'a' }), TypeError)
})

t.test('ath is base64url(SHA-256(token)) (RFC 9449 §4.2)', async (t) => {
  // the example of RFC 9449 §7.1
  t.equal(accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU'), 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo')
})

t.test('a valid proof yields its key thumbprint, jti and expiry', async (t) => {
  for (const alg of ['ES256', 'EdDSA'] as const) {
    const key = testKey(alg)
    const v = check(key, { jti: 'j-1' })
    t.equal(v.jkt, jwkThumbprint(key.jwk), alg)
    t.equal(v.jti, 'j-1')
    t.equal(v.expiresAtMs, NOW + 65_000)
  }
})

t.test('htu is compared without query and fragment, case-insensitive in scheme and host, default port dropped', async (t) => {
  t.ok(check(es, { htu: 'HTTPS://Auth.Example.com:443/oauth/token?x=1#f' }))
  t.ok(check(es, {}, { url: 'https://auth.example.com/oauth/token?grant=1' }))
  refused(t, () => check(es, { htu: 'https://auth.example.com/oauth/token/' }), /htu does not match/)
  refused(t, () => check(es, { htu: 'http://auth.example.com/oauth/token' }), /htu does not match/)
  refused(t, () => check(es, { htu: 'https://evil.example.com/oauth/token' }), /htu does not match/)
  refused(t, () => check(es, { htu: 'not a url' }), /htu does not match/)
})

t.test('htm must be the request method', async (t) => {
  refused(t, () => check(es, { htm: 'GET' }), /htm does not match the request method POST/)
  refused(t, () => check(es, { htm: 'post' }), /htm does not match/)
})

t.test('iat must lie within the proof max age plus leeway', async (t) => {
  t.ok(check(es, { iat: (NOW - 64_000) / 1000 }))
  t.ok(check(es, { iat: (NOW + 5_000) / 1000 }))
  refused(t, () => check(es, { iat: (NOW - 66_000) / 1000 }), /older than 60 seconds/)
  refused(t, () => check(es, { iat: (NOW + 6_000) / 1000 }), /in the future/)
  refused(t, () => check(es, { claims: { iat: String(NOW / 1000) } }), /numeric iat/)
})

t.test('alg none, HS256 and algorithms outside DPOP_ALGS are refused', async (t) => {
  refused(t, () => check(es, { header: { alg: 'none' }, unsigned: true }), /alg none is not accepted/)
  refused(t, () => check(es, { header: { alg: 'HS256' }, hmacSecret: 'secret' }), /alg HS256 is not accepted/)
  refused(t, () => check(testKey('PS256'), {}), /alg PS256 is not accepted \(use one of ES256 EdDSA\)/)
  t.throws(() => createDpopVerifier({ algs: ['HS256'], maxAge: 60, leeway: 5 }), RangeError)
})

t.test('a jwk carrying private key material is refused, even when the signature verifies', async (t) => {
  const priv = es.privateKey.export({ format: 'jwk' })
  refused(t, () => check(es, { header: { jwk: priv } }), /public key only/)
  refused(t, () => check(es, { header: { jwk: { kty: 'oct', k: 'c2VjcmV0' } } }), /public key only/)
})

t.test('the header must be typ dpop+jwt with a jwk fitting alg, and no crit', async (t) => {
  refused(t, () => check(es, { header: { typ: 'JWT' } }), /typ must be dpop\+jwt/)
  refused(t, () => check(es, { header: { typ: undefined } }), /typ must be dpop\+jwt/)
  refused(t, () => check(es, { header: { jwk: undefined } }), /carry its public key as jwk/)
  refused(t, () => check(es, { header: { jwk: testKey('EdDSA').jwk } }), /key type does not fit/)
  refused(t, () => check(es, { header: { jwk: testKey('ES384').jwk } }), /curve does not fit/)
  refused(t, () => check(es, { header: { jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } } }), /not a valid public key/)
  refused(t, () => check(es, { header: { crit: ['exp'] } }), /critical header/)
})

t.test('a signature by another key than the jwk is refused', async (t) => {
  const other = testKey('ES256')
  refused(t, () => check(es, { header: { jwk: other.jwk } }), /signature does not verify/)
})

t.test('the proof must be one compact JWS with the required claims', async (t) => {
  const req = { method: 'POST', url: URL_, now: NOW }
  refused(t, () => verifier.verify({ ...req, proof: undefined }), /proof is required/)
  refused(t, () => verifier.verify({ ...req, proof: 'a.b' }), /compact JWS/)
  refused(t, () => verifier.verify({ ...req, proof: 'a.b.c, a.b.c' }), /exactly one DPoP header/)
  refused(t, () => verifier.verify({ ...req, proof: ['a.b.c', 'a.b.c'] }), /exactly one DPoP header/)
  refused(t, () => verifier.verify({ ...req, proof: 'x'.repeat(9000) }), /too long/)
  refused(t, () => verifier.verify({ ...req, proof: 'e30.e30.' }), /typ must be/)
  refused(t, () => verifier.verify({ ...req, proof: 'bm90IGpzb24.e30.AA' }), /not base64url-encoded JSON/)
  refused(t, () => check(es, { claims: { jti: undefined } }), /needs a jti/)
  refused(t, () => check(es, { claims: { jti: 'x'.repeat(300) } }), /needs a jti/)
  refused(t, () => check(es, { claims: { htm: undefined } }), /needs an htm/)
  refused(t, () => check(es, { claims: { htu: undefined } }), /needs an htu/)
})

t.test('with an access token, ath must be its hash', async (t) => {
  t.ok(check(es, { accessToken: 'tok-a' }, { accessToken: 'tok-a' }))
  refused(t, () => check(es, {}, { accessToken: 'tok-a' }), /needs an ath/)
  refused(t, () => check(es, { accessToken: 'tok-b' }, { accessToken: 'tok-a' }), /ath does not match/)
})

t.test('a bound token or session needs a proof by its own key', async (t) => {
  t.ok(check(es, {}, { boundTo: jwkThumbprint(es.jwk) }))
  refused(t, () => check(testKey('ES256'), {}, { boundTo: jwkThumbprint(es.jwk) }), /another key/)
})

t.test('a nonce the server does not accept is use_dpop_nonce', async (t) => {
  const acceptsNonce = (n: unknown) => n === 'good'
  t.ok(check(es, { nonce: 'good' }, { acceptsNonce }))
  refused(t, () => check(es, {}, { acceptsNonce }), /needs the server nonce/, 'use_dpop_nonce')
  refused(t, () => check(es, { nonce: 'old' }, { acceptsNonce }), /not a current one/, 'use_dpop_nonce')
})

t.test('the replay key depends on the key as well as the jti', async (t) => {
  const a = check(es, { jti: 'same' })
  t.equal(check(es, { jti: 'same' }).replayKey, a.replayKey)
  t.not(check(testKey('ES256'), { jti: 'same' }).replayKey, a.replayKey)
})

t.test('RSA proof keys shorter than 2048 bits are refused', async (t) => {
  const v = createDpopVerifier({ algs: ['PS256'], maxAge: 60, leeway: 5 })
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const key: TestKey = { alg: 'PS256', privateKey: small.privateKey, jwk: small.publicKey.export({ format: 'jwk' }) as Record<string, unknown> }
  t.throws(() => v.verify({ proof: proof(key, { htu: URL_, iat: NOW / 1000 }), method: 'POST', url: URL_, now: NOW }), /shorter than 2048/)
  const big = testKey('PS256')
  t.ok(v.verify({ proof: proof(big, { htu: URL_, iat: NOW / 1000 }), method: 'POST', url: URL_, now: NOW }))
})
