import t from 'tap'
import { call, freePort, startReady } from '../helpers.js'
import { basic, createStream } from './receiver.js'

const alice = basic('alice', 'alice-secret')
const bob = basic('bob', 'bob-secret')

async function start (overrides = {}) {
  const port = await freePort()
  return await startReady(t, { PORT: port, ISSUER: `http://127.0.0.1:${port}`, SSF_RECEIVERS: [{ id: 'alice', secret: 'alice-secret' }, { id: 'bob', secret: 'bob-secret' }], ...overrides })
}

const auth = await start()
const endpoint = 'https://receiver.example.com/events'

t.test('the transmitter metadata names the issuer, JWKS, push delivery and the endpoints', async (t) => {
  const res = await call(`${auth.url}/.well-known/ssf-configuration`)
  t.equal(res.status, 200)
  t.match(res.body, {
    spec_version: '1_0',
    issuer: auth.config.ISSUER,
    jwks_uri: `${auth.config.ISSUER}/.well-known/jwks.json`,
    delivery_methods_supported: ['urn:ietf:rfc:8935'],
    configuration_endpoint: `${auth.config.ISSUER}/ssf/streams`,
    verification_endpoint: `${auth.config.ISSUER}/ssf/verify`
  })
  t.equal((await call(res.body.jwks_uri)).status, 200, 'the JWKS it names answers')
})

t.test('stream management needs a receiver credential', async (t) => {
  const none = await call(`${auth.url}/ssf/streams`)
  t.equal(none.status, 401)
  t.match(none.headers.get('www-authenticate'), /^Basic /)
  t.equal((await call(`${auth.url}/ssf/streams`, { headers: { authorization: basic('alice', 'wrong') } })).status, 401)
  t.equal((await call(`${auth.url}/ssf/streams`, { headers: { authorization: basic('mallory', 'alice-secret') } })).status, 401)
  t.equal((await call(`${auth.url}/ssf/verify`, { body: { stream_id: 'x' } })).status, 401)
})

t.test('a receiver creates, reads, updates and deletes its one stream', async (t) => {
  const created = await createStream(auth.url, alice, endpoint, { description: 'gateway' })
  t.match(created, {
    stream_id: /^[A-Za-z0-9_-]{16,}$/,
    iss: auth.config.ISSUER,
    aud: 'alice',
    delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: endpoint },
    events_delivered: ['https://schemas.openid.net/secevent/caep/event-type/session-revoked'],
    description: 'gateway'
  })
  const id = created.stream_id as string
  const again = await call(`${auth.url}/ssf/streams`, { body: { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: endpoint } }, headers: { authorization: alice } })
  t.equal(again.status, 409, 'one stream per receiver')

  const read = await call(`${auth.url}/ssf/streams?stream_id=${id}`, { headers: { authorization: alice } })
  t.equal(read.status, 200)
  t.same(read.body, created)
  t.equal(read.headers.get('cache-control'), 'no-store')
  const list = await call(`${auth.url}/ssf/streams`, { headers: { authorization: alice } })
  t.same(list.body, [created], 'without stream_id: the list of its streams')

  const patched = await call(`${auth.url}/ssf/streams?stream_id=${id}`, { method: 'PATCH', body: { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://other.example.com/ssf' } }, headers: { authorization: alice } })
  t.equal(patched.status, 200)
  t.equal(patched.body.delivery.endpoint_url, 'https://other.example.com/ssf')
  t.equal(patched.body.description, 'gateway', 'what the patch leaves out is unchanged')
  const mismatch = await call(`${auth.url}/ssf/streams`, { method: 'PATCH', body: { stream_id: id, aud: 'bob' }, headers: { authorization: alice } })
  t.equal(mismatch.status, 400)
  t.match(mismatch.body.message, /aud/)

  t.equal((await call(`${auth.url}/ssf/verify`, { body: { stream_id: id, state: 'abc' }, headers: { authorization: alice } })).status, 204)
  t.equal((await call(`${auth.url}/ssf/streams?stream_id=${id}`, { method: 'DELETE', headers: { authorization: alice } })).status, 204)
  t.equal((await call(`${auth.url}/ssf/streams?stream_id=${id}`, { headers: { authorization: alice } })).status, 404)
  t.same((await call(`${auth.url}/ssf/streams`, { headers: { authorization: alice } })).body, [])
})

t.test("one receiver can neither read nor change another's stream", async (t) => {
  const bobs = await createStream(auth.url, bob, endpoint)
  const id = bobs.stream_id as string
  t.teardown(async () => { await call(`${auth.url}/ssf/streams?stream_id=${id}`, { method: 'DELETE', headers: { authorization: bob } }) })
  const asAlice = { headers: { authorization: alice } }
  t.equal((await call(`${auth.url}/ssf/streams?stream_id=${id}`, asAlice)).status, 404, 'read')
  t.same((await call(`${auth.url}/ssf/streams`, asAlice)).body, [], 'list')
  t.equal((await call(`${auth.url}/ssf/streams?stream_id=${id}`, { ...asAlice, method: 'PATCH', body: { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://evil.example.com/' } } })).status, 404, 'update')
  t.equal((await call(`${auth.url}/ssf/streams?stream_id=${id}`, { ...asAlice, method: 'DELETE' })).status, 404, 'delete')
  t.equal((await call(`${auth.url}/ssf/verify`, { ...asAlice, body: { stream_id: id } })).status, 404, 'verify')
  const still = await call(`${auth.url}/ssf/streams?stream_id=${id}`, { headers: { authorization: bob } })
  t.equal(still.status, 200)
  t.equal(still.body.delivery.endpoint_url, endpoint, "bob's stream is untouched")
})

t.test('bad stream configurations get a 400 that names the field', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['not http(s)', { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'ftp://example.com/x' } }, /delivery\.endpoint_url must be an http or https URL/],
    ['not absolute', { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: '/events' } }, /delivery\.endpoint_url must be an absolute URL/],
    ['credentials in the URL', { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://user:pw@example.com/x' } }, /delivery\.endpoint_url must not carry credentials/],
    ['an unknown event type', { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: endpoint }, events_requested: ['https://example.com/made-up'] }, /events_requested: unknown event type/],
    ['poll delivery', { delivery: { method: 'urn:ietf:rfc:8936', endpoint_url: endpoint } }, /delivery\/method/],
    ['an oversize URL', { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: `https://example.com/${'a'.repeat(3000)}` } }, /endpoint_url/],
    ['an oversize description', { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: endpoint }, description: 'x'.repeat(300) }, /description/],
    ['an extra property', { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: endpoint }, format: 'x' }, /additional properties|format/],
    ['no delivery', { events_requested: [] }, /delivery/]
  ]
  for (const [name, body, message] of cases) {
    const res = await call(`${auth.url}/ssf/streams`, { body, headers: { authorization: alice } })
    t.equal(res.status, 400, name)
    t.match(res.body.message, message, name)
  }
  const huge = await call(`${auth.url}/ssf/streams`, { body: { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: endpoint }, description: 'x'.repeat(20000) }, headers: { authorization: alice } })
  t.ok(huge.status === 400 || huge.status === 413, `a body past the limit is refused (${huge.status})`)
  t.same((await call(`${auth.url}/ssf/streams`, { headers: { authorization: alice } })).body, [], 'none of them made a stream')
})

t.test('SSF_RECEIVER_URL_PATTERN narrows where pushes may go', async (t) => {
  const narrowed = await start({ SSF_RECEIVER_URL_PATTERN: 'https://[a-z]+\\.partner\\.example/.*' })
  const refused = await call(`${narrowed.url}/ssf/streams`, { body: { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'http://10.0.0.5/admin' } }, headers: { authorization: alice } })
  t.equal(refused.status, 400)
  t.match(refused.body.message, /delivery\.endpoint_url is not allowed by SSF_RECEIVER_URL_PATTERN/)
  const suffix = await call(`${narrowed.url}/ssf/streams`, { body: { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'http://10.0.0.5/?https://a.partner.example/' } }, headers: { authorization: alice } })
  t.equal(suffix.status, 400, 'the pattern must match the whole URL')
  const allowed = await createStream(narrowed.url, alice, 'https://gw.partner.example/ssf')
  t.equal(allowed.delivery.endpoint_url, 'https://gw.partner.example/ssf')
})
