// Every segment of a token, however malformed, at every endpoint that reads
// one: a 4xx, never a 5xx. @fastify/jwt (over fast-jwt) has answered 500 to a
// malformed signature before; its errors are mapped in tokens/jwt.ts, and this
// holds the mapping to "a bad token is the client's fault".
import t from 'tap'
import fc from 'fast-check'
import { call, startAuth, uniqueEmail } from '../helpers.js'

const { url } = await startAuth(t, { RATE_LIMITS: 'off', INTROSPECTION_CLIENTS: [{ id: 'rs', secret: 'secret' }] })

const signup = await call(`${url}/v1/signup`, { body: { email: uniqueEmail(), password: 'segment-fuzz-password' } })
const genuine = { access: signup.body.access_token as string, refresh: signup.body.refresh_token as string }

const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() })
const basic = `Basic ${Buffer.from('rs:secret').toString('base64')}`

/** Each endpoint that reads a token, sending `token` where it reads it. */
const endpoints: Array<{ name: string, send: (token: string) => Promise<number> }> = [
  { name: 'POST /v1/logout (Bearer)', send: async (tok) => (await call(`${url}/v1/logout`, { method: 'POST', token: tok })).status },
  { name: 'POST /v1/logout (refresh_token)', send: async (tok) => (await call(`${url}/v1/logout`, { body: { refresh_token: tok } })).status },
  { name: 'POST /v1/logout-all', send: async (tok) => (await call(`${url}/v1/logout-all`, { method: 'POST', token: tok })).status },
  { name: 'POST /v1/logout-others', send: async (tok) => (await call(`${url}/v1/logout-others`, { method: 'POST', token: tok })).status },
  { name: 'GET /v1/sessions', send: async (tok) => (await call(`${url}/v1/sessions`, { token: tok })).status },
  { name: 'DELETE /v1/sessions/:sid', send: async (tok) => (await call(`${url}/v1/sessions/x`, { method: 'DELETE', token: tok })).status },
  { name: 'GET /v1/account', send: async (tok) => (await call(`${url}/v1/account`, { token: tok })).status },
  { name: 'POST /v1/password', send: async (tok) => (await call(`${url}/v1/password`, { token: tok, body: { current_password: 'segment-fuzz-wrong', new_password: 'segment-fuzz-other' } })).status },
  { name: 'POST /v1/refresh (refresh_token)', send: async (tok) => (await call(`${url}/v1/refresh`, { body: { refresh_token: tok } })).status },
  { name: 'POST /v1/refresh (access_token)', send: async (tok) => (await call(`${url}/v1/refresh`, { body: { refresh_token: genuine.refresh, access_token: tok } })).status },
  { name: 'POST /oauth/token', send: async (tok) => (await fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ grant_type: 'refresh_token', client_id: 'first-party', refresh_token: tok }).body })).status },
  { name: 'POST /oauth/revoke', send: async (tok) => (await fetch(`${url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ client_id: 'first-party', token: tok }).body })).status },
  { name: 'POST /oauth/introspect', send: async (tok) => (await fetch(`${url}/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic }, body: form({ token: tok }).body })).status }
]

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
/** What a segment may become: random bytes, arbitrary JSON, JSON of the wrong type, text, or nothing. */
const segment = fc.oneof(
  fc.uint8Array({ maxLength: 96 }).map(b64),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url')),
  fc.constantFrom('', 'e30', 'bnVsbA', 'W10', 'MQ', 'eyJhbGciOiJub25lIn0', '====', 'AA'),
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s).toString('base64url'))
)

for (const kind of ['access', 'refresh'] as const) {
  for (const position of [0, 1, 2]) {
    t.test(`a ${kind} token with segment ${position + 1} of 3 replaced gets no 5xx anywhere`, async (t) => {
      await fc.assert(fc.asyncProperty(segment, fc.nat({ max: endpoints.length - 1 }), async (replacement, at) => {
        const parts = genuine[kind].split('.')
        parts[position] = replacement
        const endpoint = endpoints[at]!
        const status = await endpoint.send(parts.join('.'))
        if (status >= 500) throw new Error(`${endpoint.name} answered ${status} to ${parts.join('.')}`)
      }), { numRuns: 60, seed: 20261202 + position + (kind === 'access' ? 0 : 10) })
      // and each endpoint at least once with each segment emptied
      for (const endpoint of endpoints) {
        const parts = genuine[kind].split('.')
        parts[position] = ''
        t.ok((await endpoint.send(parts.join('.'))) < 500, `${endpoint.name}: segment ${position + 1} empty`)
      }
    })
  }
}

t.test('the genuine tokens still work after the fuzzing', async (t) => {
  t.equal((await call(`${url}/v1/sessions`, { token: genuine.access })).status, 200)
  t.equal((await call(`${url}/v1/refresh`, { body: { refresh_token: genuine.refresh } })).status, 200)
})
