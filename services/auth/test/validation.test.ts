import t from 'tap'
import { call, startAuth } from './helpers.js'

const cases: Array<[string, string, unknown, number, RegExp]> = [
  ['an extra property', '/v1/signup', { email: 'a@b.io', password: 'long-enough', admin: true }, 400, /must NOT have additional properties/],
  ['a number where a string belongs', '/v1/login', { email: 12345, password: 'long-enough' }, 400, /body\/email must be string/],
  ['a missing password', '/v1/login', { email: 'a@b.io' }, 400, /must have required property 'password'/],
  ['a 7-character password', '/v1/signup', { email: 'a@b.io', password: '1234567' }, 400, /body\/password must NOT have fewer than 8 characters/],
  ['a 1025-character password', '/v1/signup', { email: 'a@b.io', password: 'x'.repeat(1025) }, 400, /body\/password must NOT have more than 1024 characters/],
  ['an address without @', '/v1/signup', { email: 'nobody', password: 'long-enough' }, 400, /body\/email must match pattern/],
  ['a refresh token that is not a JWT', '/v1/refresh', { refresh_token: 'not a token' }, 400, /body\/refresh_token must match pattern/],
  ['a body that is an array', '/v1/login', [1, 2], 400, /body must be object/]
]

t.test('bad bodies get a 400 that names the field', async (t) => {
  const { url } = await startAuth(t)
  for (const [name, path, body, status, message] of cases) {
    const res = await call(`${url}${path}`, { body })
    t.equal(res.status, status, name)
    t.match(res.body.message, message, name)
  }
})

t.test('malformed JSON gets 400 and a wrong content type 415', async (t) => {
  const { url } = await startAuth(t)
  const broken = await call(`${url}/v1/login`, { body: '{"email": ', headers: { 'content-type': 'application/json' } })
  t.equal(broken.status, 400)
  const wrongType = await call(`${url}/v1/login`, { body: 'email=a@b.io', headers: { 'content-type': 'application/xml' } })
  t.equal(wrongType.status, 415)
})

t.test('prototype-pollution keys are refused, not merged', async (t) => {
  const { url } = await startAuth(t)
  const res = await call(`${url}/v1/signup`, { body: '{"email":"p@b.io","password":"long-enough","__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } })
  t.equal(res.status, 400)
  t.equal(({} as Record<string, unknown>).admin, undefined)
})

t.test('bearer errors follow RFC 6750', async (t) => {
  const { url } = await startAuth(t)
  const none = await call(`${url}/v1/sessions`)
  t.equal(none.status, 401)
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="ratchet"', 'no error code when no credentials are sent')
  const empty = await call(`${url}/v1/sessions`, { headers: { authorization: 'Bearer' } })
  t.equal(empty.status, 400)
  t.match(empty.headers.get('www-authenticate'), /error="invalid_request"/)
  const garbage = await call(`${url}/v1/sessions`, { headers: { authorization: 'bEaReR abc.def.ghi' } })
  t.equal(garbage.status, 401, 'the scheme is case-insensitive; the token is just invalid')
  t.match(garbage.headers.get('www-authenticate'), /error="invalid_token"/)
})

t.test('an unknown route is a 404 in the same error shape', async (t) => {
  const { url } = await startAuth(t)
  const res = await call(`${url}/v1/nope`)
  t.equal(res.status, 404)
  t.match(res.body, { statusCode: 404, code: 'RATCHET_NOT_FOUND' })
})
