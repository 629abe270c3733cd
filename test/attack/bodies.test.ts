import t, { type Test } from 'tap'
import { bothReady, form, FORM, JSON_CT, send, signUp, startTarget, type Answer } from './forge.js'
import { uniqueEmail } from '../support.js'

// The request half of the attack corpus (issue 7): malformed JSON, wrong content
// types and prototype-pollution keys on every POST and DELETE route of both
// services, and malformed Authorization headers. Each is refused with a 4xx that
// names the problem, never a 5xx, and nothing leaks into Object.prototype.

const sys = await startTarget(t, { INTROSPECTION_CLIENTS: [{ id: 'rs', secret: 'secret' }] })
const victim = await signUp(sys)
const bearer = { authorization: `Bearer ${victim.access}` }

/**
 * How a route reads its body: `schema` routes validate a JSON object, `none`
 * routes take no body (it is parsed, then ignored), `form` routes are the
 * RFC 6749 endpoints, form-encoded only.
 */
type BodyKind = 'schema' | 'none' | 'form'
interface Route { name: string, url: () => string, method: 'POST' | 'DELETE', body: BodyKind, headers?: Record<string, string>, valid: string }

const password = 'a long enough password'
const routes: Route[] = [
  { name: 'auth POST /v1/signup', url: () => `${sys.auth}/v1/signup`, method: 'POST', body: 'schema', valid: JSON.stringify({ email: uniqueEmail(), password }) },
  { name: 'auth POST /v1/login', url: () => `${sys.auth}/v1/login`, method: 'POST', body: 'schema', valid: JSON.stringify({ email: uniqueEmail(), password }) },
  { name: 'auth POST /v1/refresh', url: () => `${sys.auth}/v1/refresh`, method: 'POST', body: 'schema', valid: JSON.stringify({ refresh_token: 'a.b.c' }) },
  { name: 'auth POST /v1/logout', url: () => `${sys.auth}/v1/logout`, method: 'POST', body: 'schema', valid: JSON.stringify({ refresh_token: 'a.b.c' }) },
  { name: 'auth POST /v1/logout-all', url: () => `${sys.auth}/v1/logout-all`, method: 'POST', body: 'none', valid: '{}' },
  { name: 'auth DELETE /v1/sessions/:sid', url: () => `${sys.auth}/v1/sessions/${victim.sid}`, method: 'DELETE', body: 'none', valid: '{}' },
  { name: 'auth POST /oauth/token', url: () => `${sys.auth}/oauth/token`, method: 'POST', body: 'form', valid: form({ grant_type: 'refresh_token', client_id: 'first-party', refresh_token: 'a.b.c' }) },
  { name: 'auth POST /oauth/revoke', url: () => `${sys.auth}/oauth/revoke`, method: 'POST', body: 'form', valid: form({ token: 'a.b.c', client_id: 'first-party' }) },
  { name: 'auth POST /oauth/introspect', url: () => `${sys.auth}/oauth/introspect`, method: 'POST', body: 'form', headers: { authorization: 'Basic ' + Buffer.from('rs:secret').toString('base64') }, valid: form({ token: 'a.b.c' }) },
  // the resource service authenticates before it reads a body: send a genuine token so the body is reached
  { name: 'resource POST /v1/notes', url: () => `${sys.resource}/v1/notes`, method: 'POST', body: 'schema', headers: bearer, valid: JSON.stringify({ text: 'a note' }) },
  { name: 'resource DELETE /v1/notes/:id', url: () => `${sys.resource}/v1/notes/no-such-note`, method: 'DELETE', body: 'none', headers: bearer, valid: '{}' }
]

// the answer a `none` route gives when its body is ignored: no token (auth), no such note (resource)
const ignoredBody = (r: Route) => r.name.startsWith('resource') ? 404 : 401

function describe (a: Answer): string {
  const b = a.body as Record<string, unknown> | undefined
  return `${a.status} ${String(b?.code ?? b?.error ?? '')}`.trim()
}

/** Every answer must be a 4xx, and an error body must say what is wrong. */
function refusedWith (t: Test, a: Answer, status: number, what: string): void {
  t.equal(a.status, status, `${what}: ${describe(a)}`)
  if (a.status >= 400) t.ok(typeof a.body === 'object' && a.body !== null && (typeof a.body.message === 'string' || typeof a.body.error_description === 'string'), `${what}: the body names the problem`)
}

const malformedJson: Array<[string, string]> = [
  ['unterminated object', '{'],
  ['unterminated string', '{"email":"'],
  ['unterminated array', '[1,'],
  ['bare word', 'nul'],
  ['trailing garbage', '{"a":1}}'],
  ['trailing comma', '{"a":1,}'],
  ['single quotes', "{'a':1}"],
  ['bad escape', '{"a":"\\x"}'],
  ['NUL byte', '\u0000'],
  ['whitespace only', '   '],
  ['60 000 open brackets', '['.repeat(60_000)],
  ['10 000-deep nesting', '['.repeat(10_000) + ']'.repeat(10_000)],
  ['number 1e999999 (Infinity)', '{"text":1e999999,"email":1e999999}']
]

t.test('malformed JSON is refused with 400 on every JSON route and 415 on the form-only OAuth routes', async (t) => {
  for (const r of routes) {
    for (const [what, body] of malformedJson) {
      const a = await send(r.url(), { method: r.method, headers: { ...r.headers, ...JSON_CT }, body })
      // a body past the resource service's limit is 413 before it is parsed
      const tooLarge = r.name.startsWith('resource') && body.length > 13 * 1024
      const parsedFine = what.startsWith('10 000') || what.startsWith('number')
      const want = r.body === 'form' ? 415 : tooLarge ? 413 : parsedFine && r.body === 'none' ? ignoredBody(r) : 400
      refusedWith(t, a, want, `${r.name}, ${what}`)
    }
  }
})

t.test('an empty body declared as JSON is refused with 400 where a body is expected', async (t) => {
  for (const r of routes) {
    const a = await send(r.url(), { method: r.method, headers: { ...r.headers, ...JSON_CT }, body: '' })
    refusedWith(t, a, r.body === 'form' ? 415 : 400, `${r.name}, empty`)
  }
})

t.test('bytes that are not UTF-8 are refused with 400 (or 415 on the OAuth routes)', async (t) => {
  for (const r of routes) {
    const a = await send(r.url(), { method: r.method, headers: { ...r.headers, ...JSON_CT }, body: new Uint8Array([0xff, 0xfe, 0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]) })
    refusedWith(t, a, r.body === 'form' ? 415 : 400, `${r.name}, invalid UTF-8`)
  }
})

const foreignTypes = ['application/xml', 'multipart/form-data; boundary=xyz', 'image/png', 'application/octet-stream', 'application/jsonp', 'text/html', 'x', 'application/json-patch+json']

t.test('a content type no route accepts is refused with 415', async (t) => {
  for (const r of routes) {
    for (const ct of foreignTypes) {
      const a = await send(r.url(), { method: r.method, headers: { ...r.headers, 'content-type': ct }, body: r.valid })
      refusedWith(t, a, 415, `${r.name}, ${ct}`)
    }
  }
})

t.test('JSON routes refuse a form body with 415, the OAuth routes refuse JSON and text with 415', async (t) => {
  for (const r of routes) {
    if (r.body === 'form') {
      for (const ct of ['application/json', 'text/plain', 'application/json; charset=utf-8']) {
        refusedWith(t, await send(r.url(), { method: r.method, headers: { ...r.headers, 'content-type': ct }, body: '{"token":"a.b.c","grant_type":"refresh_token"}' }), 415, `${r.name}, ${ct}`)
      }
    } else {
      refusedWith(t, await send(r.url(), { method: r.method, headers: { ...r.headers, ...FORM }, body: 'email=a%40b.c&password=xxxxxxxxxx' }), 415, `${r.name}, form`)
    }
  }
})

t.test('text/plain or no content type: a body is never taken for JSON', async (t) => {
  for (const r of routes) {
    if (r.body === 'form') continue
    // text/plain is read as a string: a schema route says the body must be an object
    const text = await send(r.url(), { method: r.method, headers: { ...r.headers, 'content-type': 'text/plain' }, body: r.valid })
    refusedWith(t, text, r.body === 'schema' ? 400 : ignoredBody(r), `${r.name}, text/plain`)
    const none = await send(r.url(), { method: r.method, headers: { ...r.headers }, body: new TextEncoder().encode(r.valid) as Uint8Array<ArrayBuffer> })
    t.ok(none.status >= 400 && none.status < 500, `${r.name}, no content type: ${describe(none)}`)
  }
  t.same(await bothReady(sys), [200, 200])
})

const pollutingJson: Array<[string, (valid: Record<string, unknown>) => string]> = [
  ['__proto__ at the top', (v) => `{"__proto__":{"polluted":"yes"},${JSON.stringify(v).slice(1)}`],
  ['__proto__ nested', (v) => `{${JSON.stringify(v).slice(1, -1)},"x":{"y":{"__proto__":{"polluted":"yes"}}}}`],
  ['__proto__ spelled with escapes', (v) => `{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"},${JSON.stringify(v).slice(1)}`],
  ['constructor.prototype', (v) => `{"constructor":{"prototype":{"polluted":"yes"}},${JSON.stringify(v).slice(1)}`],
  ['constructor.prototype nested in an array', (v) => `{${JSON.stringify(v).slice(1, -1)},"x":[{"constructor":{"prototype":{"polluted":"yes"}}}]}`],
  ['a literal "constructor.prototype" key', (v) => `{"constructor.prototype":{"polluted":"yes"},${JSON.stringify(v).slice(1)}`],
  ['a "prototype" key', (v) => `{"prototype":{"polluted":"yes"},${JSON.stringify(v).slice(1)}`]
]

function untouched (t: Test): void {
  t.equal(Object.hasOwn(Object.prototype, 'polluted'), false, 'Object.prototype has no "polluted"')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'a fresh object inherits nothing')
  t.equal(Object.keys(Object.prototype).length, 0, 'Object.prototype has no enumerable keys')
}

t.test('prototype-pollution keys in JSON bodies are refused with 400 and pollute nothing', async (t) => {
  for (const r of routes) {
    if (r.body === 'form') continue
    const valid = JSON.parse(r.valid) as Record<string, unknown>
    for (const [what, make] of pollutingJson) {
      // for signup, a fresh address each time: a 201 here would mean the key slipped through
      const base = r.name.endsWith('/v1/signup') ? { ...valid, email: uniqueEmail() } : valid
      const body = make(Object.keys(base).length === 0 ? { z: 1 } : base)
      const a = await send(r.url(), { method: r.method, headers: { ...r.headers, ...JSON_CT }, body })
      // routes that take no body: the parser still refuses __proto__/constructor; other keys are ignored with the body
      const parserRefuses = !what.startsWith('a ')
      refusedWith(t, a, r.body === 'none' && !parserRefuses ? ignoredBody(r) : 400, `${r.name}, ${what}`)
    }
  }
  untouched(t)
})

t.test('prototype-pollution keys in form bodies and query strings pollute nothing', async (t) => {
  const keys = ['__proto__[polluted]=yes', '__proto__=yes', '__proto__.polluted=yes', 'constructor[prototype][polluted]=yes', 'constructor.prototype.polluted=yes', 'prototype=yes']
  for (const r of routes) {
    if (r.body !== 'form') continue
    for (const k of keys) {
      const a = await send(r.url(), { method: r.method, headers: { ...r.headers, ...FORM }, body: `${k}&${r.valid}` })
      // the extra key changes nothing: the same answer as without it (400 invalid_grant, or 200 for revocation and introspection)
      const plain = await send(r.url(), { method: r.method, headers: { ...r.headers, ...FORM }, body: r.valid })
      t.equal(a.status, plain.status, `${r.name}, ${k}: ${describe(a)}`)
      t.ok(a.status < 500)
    }
  }
  for (const url of [`${sys.resource}/v1/notes`, `${sys.resource}/v1/me`]) {
    for (const k of keys) {
      const a = await send(`${url}?${k}`, { headers: bearer })
      t.equal(a.status, 200, `${url}?${k}: ${describe(a)}`)
    }
  }
  // the paginated session list takes named parameters only (an unknown one such as
  // page=2 would otherwise be ignored silently): the polluting key is refused by name
  for (const k of keys) {
    const a = await send(`${sys.auth}/v1/sessions?${k}`, { headers: bearer })
    t.equal(a.status, 400, `${sys.auth}/v1/sessions?${k}: ${describe(a)}`)
    t.match(a.text, /querystring/)
  }
  untouched(t)
})

t.test('malformed Authorization headers get 400 invalid_request at both services', async (t) => {
  const headers = ['Bearer', 'Bearer a b', 'Bearer !!!', 'Bearer a.b.c, Bearer d.e.f', 'Bearer "a.b.c"', 'Bearer a.b.c;', 'Bearer \u00e9t\u00e9']
  for (const h of headers) {
    for (const url of [`${sys.resource}/v1/me`, `${sys.auth}/v1/sessions`]) {
      const a = await send(url, { headers: { authorization: h } })
      refusedWith(t, a, 400, `${url} with ${JSON.stringify(h)}`)
      t.match(a.headers.get('www-authenticate'), /^Bearer realm="[^"]+", error="invalid_request"/)
    }
  }
})

t.test('another scheme is no bearer credential: 401 with no error code at both services (RFC 6750 §3.1)', async (t) => {
  for (const h of ['Basic dXNlcjpwYXNz', 'Digest username="x"', 'Token a.b.c', 'Bearertoken']) {
    for (const url of [`${sys.resource}/v1/me`, `${sys.auth}/v1/sessions`]) {
      const a = await send(url, { headers: { authorization: h } })
      t.equal(a.status, 401, `${url} with ${JSON.stringify(h)}: ${describe(a)}`)
      t.equal(a.headers.get('www-authenticate'), 'Bearer realm="ratchet"', 'a challenge with no error code')
    }
  }
})

t.test('the scheme is case-insensitive and a token outside the header is not a credential', async (t) => {
  t.equal((await send(`${sys.resource}/v1/me`, { headers: { authorization: `bEaReR ${victim.access}` } })).status, 200)
  t.equal((await send(`${sys.auth}/v1/sessions`, { headers: { authorization: `BEARER ${victim.access}` } })).status, 200)
  // RFC 6750 §2.3 tokens in URLs end up in logs: not supported
  const query = await send(`${sys.resource}/v1/me?access_token=${victim.access}`)
  t.equal(query.status, 401)
  t.equal(query.headers.get('www-authenticate'), 'Bearer realm="ratchet"')
  const body = await send(`${sys.resource}/v1/notes`, { method: 'POST', headers: FORM, body: form({ access_token: victim.access, text: 'x' }) })
  t.equal(body.status, 401)
})

t.test('both services are ready after the corpus and the victim is still signed in', async (t) => {
  t.same(await bothReady(sys), [200, 200])
  t.equal((await send(`${sys.resource}/v1/me`, { headers: bearer })).status, 200)
  t.equal((await send(`${sys.auth}/v1/refresh`, { method: 'POST', headers: JSON_CT, body: JSON.stringify({ refresh_token: victim.refresh }) })).status, 200)
})
