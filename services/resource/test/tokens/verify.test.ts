import t, { type Test } from 'tap'
import { EXPIRED_TOKEN_DESCRIPTION, parseBearerChallenge } from '@ratchet/shared'
import { call, claims, eventually, generateKey, nowSec, signHs256, signWith, start, startJwks, type JsonResponse } from '../helpers.js'

function challenge (res: JsonResponse): Record<string, string> {
  return parseBearerChallenge(res.headers.get('www-authenticate') ?? '') ?? {}
}

async function rejected (t: Test, res: JsonResponse, description: RegExp | string): Promise<void> {
  t.equal(res.status, 401)
  t.match(challenge(res), { realm: 'ratchet', error: 'invalid_token', error_description: description })
  t.match(res.body, { statusCode: 401, code: 'RATCHET_INVALID_ACCESS_TOKEN', error: 'Unauthorized' })
}

t.test('a genuine access token is accepted and /v1/me says who it belongs to', async (t) => {
  const s = await start(t)
  const c = claims(s.config, { sub: 'user-1', sid: 'sid-1', auth_time: 1764345600.123 })
  const token = signWith(s.key, { alg: 'ES256', kid: s.key.kid, typ: 'at+jwt' }, c)
  const res = await call(`${s.url}/v1/me`, { token })
  t.equal(res.status, 200)
  t.same(res.body, { sub: 'user-1', sid: 'sid-1', scope: 'notes:read notes:write', exp: c.exp, client_id: 'first-party', auth_time: 1764345600.123 })
})

for (const alg of ['EdDSA', 'PS256'] as const) {
  t.test(`tokens signed with ${alg} keys are accepted too`, async (t) => {
    const key = generateKey(alg)
    const s = await start(t, { jwks: await startJwks(t, [key]) })
    const res = await call(`${s.url}/v1/me`, { token: s.token() })
    t.equal(res.status, 200)
  })
}

t.test('a token with alg none is rejected', async (t) => {
  const s = await start(t)
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const token = `${b64({ alg: 'none', kid: s.key.kid, typ: 'at+jwt' })}.${b64(claims(s.config))}.`
  await rejected(t, await call(`${s.url}/v1/me`, { token }), /algorithm/)
})

t.test('an HS256 token keyed with the public key is rejected', async (t) => {
  const s = await start(t)
  for (const secret of [JSON.stringify(s.key.jwk), s.key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), String(s.key.jwk.x)]) {
    const token = signHs256(secret, { alg: 'HS256', kid: s.key.kid, typ: 'at+jwt' }, claims(s.config))
    await rejected(t, await call(`${s.url}/v1/me`, { token }), /algorithm/)
  }
})

t.test('a token whose alg differs from its key\'s alg is rejected', async (t) => {
  const s = await start(t)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({}, { alg: 'EdDSA' }) }), /algorithm/)
})

t.test('a token with a tampered payload is rejected', async (t) => {
  const s = await start(t)
  const [h, , sig] = s.token().split('.')
  const forged = `${h}.${Buffer.from(JSON.stringify(claims(s.config, { sub: 'admin' }))).toString('base64url')}.${sig}`
  await rejected(t, await call(`${s.url}/v1/me`, { token: forged }), /signature/)
})

t.test('a token signed by another key with the same kid is rejected', async (t) => {
  const s = await start(t)
  const impostor = generateKey('ES256', s.key.kid)
  const token = signWith(impostor, { alg: 'ES256', kid: s.key.kid, typ: 'at+jwt' }, claims(s.config))
  await rejected(t, await call(`${s.url}/v1/me`, { token }), /signature/)
})

t.test('a refresh token is never accepted as an access token', async (t) => {
  const s = await start(t)
  const c = claims(s.config, { aud: s.config.ISSUER })
  const hs = signHs256('refresh-secret', { alg: 'HS256', typ: 'rt+jwt' }, c)
  await rejected(t, await call(`${s.url}/v1/me`, { token: hs }), /typ must be at\+jwt/)
  // even signed with the access-token key, the type and the audience give it away
  const asym = signWith(s.key, { alg: 'ES256', kid: s.key.kid, typ: 'rt+jwt' }, c)
  await rejected(t, await call(`${s.url}/v1/me`, { token: asym }), /typ must be at\+jwt/)
})

t.test('a token with the wrong typ, or none, is rejected; application/at+jwt is accepted', async (t) => {
  const s = await start(t)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({}, { typ: 'JWT' }) }), /typ/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({}, { typ: undefined }) }), /typ/)
  t.equal((await call(`${s.url}/v1/me`, { token: s.token({}, { typ: 'application/at+jwt' }) })).status, 200)
})

t.test('a token from another issuer or for another audience is rejected', async (t) => {
  const s = await start(t)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ iss: 'http://evil.test' }) }), /iss/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ aud: 'another-api' }) }), /aud/)
})

t.test('an expired token is rejected with the description that tells the client to refresh', async (t) => {
  const s = await start(t)
  const iat = nowSec() - 1000
  const res = await call(`${s.url}/v1/me`, { token: s.token({ iat, exp: iat + 900 }) })
  await rejected(t, res, EXPIRED_TOKEN_DESCRIPTION)
  t.equal(challenge(res).error_description, EXPIRED_TOKEN_DESCRIPTION)
})

t.test('expiry allows CLOCK_LEEWAY seconds of skew', async (t) => {
  const s = await start(t, { config: { CLOCK_LEEWAY: 30 } })
  t.equal((await call(`${s.url}/v1/me`, { token: s.token({ exp: nowSec() - 10 }) })).status, 200)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ exp: nowSec() - 60 }) }), EXPIRED_TOKEN_DESCRIPTION)
})

t.test('a forged token that is also expired is called invalid, not expired', async (t) => {
  const s = await start(t)
  const other = generateKey('ES256', s.key.kid)
  const token = signWith(other, { alg: 'ES256', kid: s.key.kid, typ: 'at+jwt' }, claims(s.config, { exp: nowSec() - 1000 }))
  const res = await call(`${s.url}/v1/me`, { token })
  await rejected(t, res, /signature/)
})

t.test('a token not valid yet (nbf or iat in the future) is rejected', async (t) => {
  const s = await start(t)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ nbf: nowSec() + 600 }) }), /not valid yet/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ iat: nowSec() + 600 }) }), /not valid yet/)
})

t.test('a token missing a required claim, or with one of the wrong type, is rejected', async (t) => {
  const s = await start(t)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ sid: undefined }) }), /sid/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ auth_time: undefined }) }), /auth_time/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ sub: 42 }) }), /claims are invalid/)
})

t.test('the checks made beneath fast-jwt keep its answers: extra segments, crit, aud lists, claim types', async (t) => {
  const s = await start(t)
  const good = s.token()
  await rejected(t, await call(`${s.url}/v1/me`, { token: `${good}.${good.split('.')[2]!}` }), /malformed/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: `${good.split('.').slice(0, 2).join('.')}.` }), /signature is invalid/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({}, { crit: ['exp'] }) }), /unsupported critical header/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ aud: ['another-api', 'a-third'] }) }), /None of aud claim values are allowed/)
  t.equal((await call(`${s.url}/v1/me`, { token: s.token({ aud: ['another-api', s.config.AUDIENCE] }) })).status, 200)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ aud: [42] }) }), /aud claim must be a string or an array of strings/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ iss: ['x'] }) }), /iss claim must be a string/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ exp: String(nowSec() + 600) }) }), /exp claim must be a number/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({ nbf: 'soon' }) }), /nbf claim must be a number/)
})

t.test('garbage and tokens naming no known key are rejected', async (t) => {
  const s = await start(t)
  await rejected(t, await call(`${s.url}/v1/me`, { token: 'abc.def.ghi' }), /malformed/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: 'notajwt' }), /malformed/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({}, { kid: undefined }) }), /kid/)
  await rejected(t, await call(`${s.url}/v1/me`, { token: s.token({}, { kid: 'nope' }) }), /unknown key/)
})

t.test('jku, x5u and jwk headers are never followed', async (t) => {
  const s = await start(t)
  const attacker = generateKey('ES256', 'attacker')
  const evil = await startJwks(t, [attacker])
  const token = signWith(attacker, { alg: 'ES256', kid: 'attacker', typ: 'at+jwt', jku: evil.url, x5u: evil.url, jwk: attacker.jwk }, claims(s.config))
  await rejected(t, await call(`${s.url}/v1/me`, { token }), /unknown key/)
  t.equal(evil.fetches, 0, 'the URL in the token was not fetched')
})

t.test('a token verified once is served from the cache and still expires', async (t) => {
  const s = await start(t, { config: { CLOCK_LEEWAY: 0 } })
  const exp = nowSec() + 2
  const token = s.token({ exp })
  t.equal((await call(`${s.url}/v1/me`, { token })).status, 200)
  t.equal(s.app.verifier.cacheSize, 1)
  t.equal((await call(`${s.url}/v1/me`, { token })).status, 200)
  // once exp passes, the cached entry must not be used
  let last: JsonResponse | undefined
  await eventually(async () => (last = await call(`${s.url}/v1/me`, { token })).status !== 200, 10_000) // the cached token to expire
  await rejected(t, last!, EXPIRED_TOKEN_DESCRIPTION)
})

t.test('a cached token\'s signature on another payload is not a cache hit', async (t) => {
  const s = await start(t)
  const token = s.token({ sub: 'user-1' })
  t.equal((await call(`${s.url}/v1/me`, { token })).status, 200, 'the genuine token, now cached')
  const [h, , sig] = token.split('.')
  // the cache is keyed by the signature segment: the forgery finds the entry, and must still be refused
  const forged = `${h}.${Buffer.from(JSON.stringify(claims(s.config, { sub: 'admin' }))).toString('base64url')}.${sig}`
  const hits = s.app.verifier.cacheHits
  await rejected(t, await call(`${s.url}/v1/me`, { token: forged }), /signature/)
  t.equal(s.app.verifier.cacheHits, hits, 'no hit for the forgery')
  const again = await call(`${s.url}/v1/me`, { token })
  t.equal(again.status, 200)
  t.match(again.body, { sub: 'user-1' }, 'the genuine token is still served, from the cache')
  t.equal(s.app.verifier.cacheHits, hits + 1)
})

t.test('the verification cache is bounded by VERIFY_CACHE_SIZE', async (t) => {
  const s = await start(t, { config: { VERIFY_CACHE_SIZE: 3 } })
  for (let i = 0; i < 5; i++) t.equal((await call(`${s.url}/v1/me`, { token: s.token() })).status, 200)
  t.equal(s.app.verifier.cacheSize, 3)
})
