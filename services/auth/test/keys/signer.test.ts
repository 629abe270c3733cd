// The signers of keys/signer.ts took over from fast-jwt's: a token they mint must
// read byte for byte as fast-jwt's did (header and claims segments; the grace path
// mints a successor again and hands it out as the same token), and verify with
// fast-jwt's verifier, which the service and the resource service still use.
import t from 'tap'
import { createSigner, createVerifier } from 'fast-jwt'
import { createKeyRing } from '../../src/keys/ring.js'
import { generateAccessKey, generateRefreshKey, privatePem, publicPem } from '../../src/keys/jwk.js'
import { claimsSegment, currentKeySigner, currentRefreshSigner } from '../../src/keys/signer.js'
import type { AccessTokenAlg } from '@ratchet/shared'

const now = Date.now()
const segments = (token: string) => token.split('.')

const iat = Math.floor(now / 1000)
const access = { iss: 'http://auth.test', aud: 'ratchet-api', sub: 'u1', client_id: 'first-party', iat, exp: iat + 900, jti: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', sid: 's1', scope: 'openid profile', auth_time: 1764345600.123, cnf: { jkt: 'abc' } }
const refresh = { iss: 'http://auth.test', aud: 'http://auth.test', sub: 'u1', sid: 's1', jti: 'AAAAAAAAAAAAAAAA', client_id: 'first-party', iat, exp: iat + 86400 }

for (const alg of ['ES256', 'EdDSA', 'PS256'] as AccessTokenAlg[]) {
  t.test(`${alg}: the same header and claims as fast-jwt, and a signature fast-jwt verifies`, async (t) => {
    const key = generateAccessKey(alg, now)
    const ring = createKeyRing({ access: [key], refresh: [generateRefreshKey(now)] }, alg, now, 60_000)
    const ours = currentKeySigner<object>(() => ring, 'at+jwt')(access)
    const theirs = createSigner({ key: privatePem(key), algorithm: alg, kid: key.kid, header: { alg, typ: 'at+jwt' } })(access)
    t.equal(segments(ours)[0], segments(theirs)[0], 'header segment')
    t.equal(segments(ours)[1], segments(theirs)[1], 'claims segment')
    t.same(JSON.parse(Buffer.from(segments(ours)[0]!, 'base64url').toString()), { alg, typ: 'at+jwt', kid: key.kid })
    const verified = createVerifier({ key: publicPem(key), algorithms: [alg], checkTyp: 'at+jwt' })(ours) as Record<string, unknown>
    t.same(verified, access)
    // a signature over other claims must not verify
    const [h, , s] = segments(ours)
    const forged = `${h}.${claimsSegment({ ...access, sub: 'u2' })}.${s}`
    t.throws(() => createVerifier({ key: publicPem(key), algorithms: [alg] })(forged), { code: 'FAST_JWT_INVALID_SIGNATURE' })
  })
}

t.test('HS256 refresh tokens: byte for byte what fast-jwt signed (the grace path depends on it)', async (t) => {
  const rk = generateRefreshKey(now)
  const ring = createKeyRing({ access: [generateAccessKey('ES256', now)], refresh: [rk] }, 'ES256', now, 60_000)
  const secret = Buffer.from(rk.secret, 'base64url')
  const ours = currentRefreshSigner<object>(() => ring, 'rt+jwt')(refresh)
  const theirs = createSigner({ key: secret, algorithm: 'HS256', kid: rk.kid, header: { alg: 'HS256', typ: 'rt+jwt' } })(refresh)
  t.equal(ours, theirs)
  t.same(createVerifier({ key: secret, algorithms: ['HS256'], checkTyp: 'rt+jwt' })(ours), refresh)
})

t.test('a rotation to another key: the next token names and is signed by it', async (t) => {
  const first = generateAccessKey('ES256', now)
  const second = generateAccessKey('ES256', now + 1, now + 1)
  const rk1 = generateRefreshKey(now)
  const rk2 = { ...generateRefreshKey(now + 1), createdAt: now + 1 }
  let ring = createKeyRing({ access: [first], refresh: [rk1] }, 'ES256', now, 60_000)
  const signAccess = currentKeySigner<object>(() => ring, 'at+jwt')
  const signRefresh = currentRefreshSigner<object>(() => ring, 'rt+jwt')
  const kidOf = (token: string) => (JSON.parse(Buffer.from(segments(token)[0]!, 'base64url').toString()) as { kid: string }).kid
  t.equal(kidOf(signAccess(access)), first.kid)
  t.equal(kidOf(signRefresh(refresh)), rk1.kid)
  ring = createKeyRing({ access: [first, second], refresh: [rk1, rk2] }, 'ES256', now + 2, 60_000)
  const a = signAccess(access)
  t.equal(kidOf(a), second.kid)
  t.ok(createVerifier({ key: publicPem(second), algorithms: ['ES256'] })(a))
  t.throws(() => createVerifier({ key: publicPem(first), algorithms: ['ES256'] })(a), { code: 'FAST_JWT_INVALID_SIGNATURE' })
  const r = signRefresh(refresh)
  t.equal(kidOf(r), rk2.kid)
  t.ok(createVerifier({ key: Buffer.from(rk2.secret, 'base64url'), algorithms: ['HS256'] })(r))
})

t.test('claims: iat added when absent, a non-integer exp refused, as fast-jwt did', async (t) => {
  const decoded = (seg: string) => JSON.parse(Buffer.from(seg, 'base64url').toString()) as Record<string, unknown>
  t.same(decoded(claimsSegment({ a: 1 }, 1_700_000_000_999)), { a: 1, iat: 1_700_000_000 })
  t.throws(() => claimsSegment({ exp: 1.5 }), TypeError)
  t.throws(() => claimsSegment({ exp: -1 }), TypeError)
  const theirs = createSigner({ key: 'k'.repeat(32), algorithm: 'HS256', clockTimestamp: 1_700_000_000_999 })({ a: 1, exp: 0 })
  t.equal(claimsSegment({ a: 1, exp: 0 }, 1_700_000_000_999), segments(theirs)[1])
})
