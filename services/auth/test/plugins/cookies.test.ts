import t from 'tap'
import { ResourceEnv, loadConfig } from '@ratchet/shared'
import { buildApp as buildResource } from '../../../resource/src/app.js'
import { call, dependencyEnv, isolation, startAuth, startAuthAtIssuer, uniqueEmail, type Started } from '../helpers.js'

const APP = 'https://app.example.com'
const ask = { 'x-ratchet-token-delivery': 'cookie' }

/** The refresh cookie's value and attributes from a response. */
function refreshCookie (headers: Headers): { value: string, attributes: string } | undefined {
  const line = headers.getSetCookie().find((c) => c.startsWith('__Host-ratchet_rt='))
  if (line === undefined) return undefined
  const [pair, ...attributes] = line.split(';')
  return { value: (pair ?? '').slice('__Host-ratchet_rt='.length), attributes: attributes.map((a) => a.trim()).join('; ') }
}

async function cookieLogin (t: { equal: (a: unknown, b: unknown) => void }, s: Started) {
  const email = uniqueEmail()
  t.equal((await call(`${s.url}/v1/signup`, { body: { email, password: 'long-enough' } })).status, 201)
  const login = await call(`${s.url}/v1/login`, { body: { email, password: 'long-enough' }, headers: ask })
  t.equal(login.status, 200)
  const cookie = refreshCookie(login.headers)
  if (cookie === undefined) throw new Error('no refresh cookie')
  return { login, cookie }
}

const withCookie = (value: string, extra: Record<string, string> = {}) => ({ cookie: `__Host-ratchet_rt=${value}`, ...extra })

t.test('asked for, the refresh token arrives as a __Host- HttpOnly Secure SameSite=Strict cookie and not in the body', async (t) => {
  const s = await startAuth(t)
  const { login, cookie } = await cookieLogin(t, s)
  t.match(cookie.attributes, /Max-Age=\d+/)
  t.match(cookie.attributes, /Path=\//)
  t.match(cookie.attributes, /HttpOnly/)
  t.match(cookie.attributes, /Secure/)
  t.match(cookie.attributes, /SameSite=Strict/)
  t.notMatch(cookie.attributes, /Domain=/)
  t.equal(login.body.refresh_token, undefined, 'script on the page never sees it')
  t.type(login.body.access_token, 'string')
  t.equal(login.headers.get('cache-control'), 'no-store')
})

t.test('without asking, the refresh token stays in the body and no cookie is set', async (t) => {
  const s = await startAuth(t)
  const email = uniqueEmail()
  const signup = await call(`${s.url}/v1/signup`, { body: { email, password: 'long-enough' } })
  t.type(signup.body.refresh_token, 'string')
  t.equal(refreshCookie(signup.headers), undefined)
})

t.test('signup can deliver the cookie too', async (t) => {
  const s = await startAuth(t)
  const signup = await call(`${s.url}/v1/signup`, { body: { email: uniqueEmail(), password: 'long-enough' }, headers: ask })
  t.equal(signup.status, 201)
  t.ok(refreshCookie(signup.headers))
  t.equal(signup.body.refresh_token, undefined)
  t.type(signup.body.user.id, 'string')
})

t.test('refresh reads the cookie with the CSRF header and a trusted Origin, and rotates it', async (t) => {
  const s = await startAuthAtIssuer(t, { CORS_ORIGINS: APP })
  const { cookie } = await cookieLogin(t, s)
  for (const origin of [s.url, APP]) {
    const before = refreshCookie((await cookieLogin(t, s)).login.headers)!
    const r = await call(`${s.url}/v1/refresh`, { body: {}, headers: withCookie(before.value, { 'x-ratchet-csrf': '1', origin }) })
    t.equal(r.status, 200, `Origin ${origin}`)
    const next = refreshCookie(r.headers)
    t.ok(next, 'the successor comes back as the cookie')
    t.not(next?.value, before.value, 'rotated')
    t.equal(r.body.refresh_token, undefined)
  }
  // an empty body works as well (a browser sending the cookie alone)
  const bare = await fetch(`${s.url}/v1/refresh`, { method: 'POST', headers: withCookie(cookie.value, { 'x-ratchet-csrf': '1', origin: APP }) })
  t.equal(bare.status, 200)
})

t.test('the cookie is refused without the CSRF header or from an untrusted Origin', async (t) => {
  const s = await startAuthAtIssuer(t, { CORS_ORIGINS: APP })
  const { cookie } = await cookieLogin(t, s)
  const cases: Array<[string, Record<string, string>]> = [
    ['no CSRF header', { origin: APP }],
    ['a wrong CSRF header value', { origin: APP, 'x-ratchet-csrf': 'yes' }],
    ['no Origin', { 'x-ratchet-csrf': '1' }],
    ['a foreign Origin', { origin: 'https://evil.example', 'x-ratchet-csrf': '1' }],
    ['a look-alike Origin', { origin: `${APP}.evil.example`, 'x-ratchet-csrf': '1' }]
  ]
  for (const [name, headers] of cases) {
    for (const path of ['/v1/refresh', '/v1/logout']) {
      const r = await call(`${s.url}${path}`, { body: {}, headers: withCookie(cookie.value, headers) })
      t.equal(r.status, 403, `${path} with ${name}`)
      t.equal(r.body.code, 'RATCHET_CSRF_REJECTED')
    }
  }
  const still = await call(`${s.url}/v1/refresh`, { body: {}, headers: withCookie(cookie.value, { origin: APP, 'x-ratchet-csrf': '1' }) })
  t.equal(still.status, 200, 'the refused tries did not spend the token')
})

t.test('refresh with neither a body token nor a cookie names what is missing', async (t) => {
  const s = await startAuth(t)
  const r = await call(`${s.url}/v1/refresh`, { body: {} })
  t.equal(r.status, 400)
  t.match(r.body, { code: 'RATCHET_REFRESH_TOKEN_REQUIRED', message: /refresh_token/ })
})

t.test('logout with the cookie ends the session and clears that cookie only, without Clear-Site-Data', async (t) => {
  const s = await startAuthAtIssuer(t)
  const { cookie } = await cookieLogin(t, s)
  const out = await call(`${s.url}/v1/logout`, { body: {}, headers: withCookie(cookie.value, { origin: s.url, 'x-ratchet-csrf': '1' }) })
  t.equal(out.status, 204)
  // Clear-Site-Data "cookies" would wipe the web app's own cookies (the whole site's)
  t.equal(out.headers.get('clear-site-data'), null)
  t.same(out.headers.getSetCookie().map((c) => c.split('=')[0]), ['__Host-ratchet_rt'], 'no other cookie is touched')
  const cleared = refreshCookie(out.headers)
  t.equal(cleared?.value, '', 'the cookie is overwritten empty')
  t.match(cleared?.attributes, /Expires=Thu, 01 Jan 1970/)
  const after = await call(`${s.url}/v1/refresh`, { body: { refresh_token: cookie.value } })
  t.equal(after.status, 401, 'the session is over')
})

t.test('CORS answers only allow-listed origins, with credentials and our headers', async (t) => {
  const s = await startAuth(t, { CORS_ORIGINS: `${APP},http://localhost:5173` })
  const preflight = await fetch(`${s.url}/v1/refresh`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-ratchet-csrf' } })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers.get('access-control-allow-origin'), APP)
  t.equal(preflight.headers.get('access-control-allow-credentials'), 'true')
  t.match(preflight.headers.get('access-control-allow-headers'), /x-ratchet-csrf/)
  t.match(preflight.headers.get('access-control-allow-headers'), /x-ratchet-token-delivery/)

  const simple = await fetch(`${s.url}/.well-known/jwks.json`, { headers: { origin: 'http://localhost:5173' } })
  t.equal(simple.headers.get('access-control-allow-origin'), 'http://localhost:5173')
  t.match(simple.headers.get('access-control-expose-headers'), /retry-after/)

  const foreign = await fetch(`${s.url}/v1/refresh`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-ratchet-csrf' } })
  t.equal(foreign.headers.get('access-control-allow-origin'), null, 'a foreign origin gets no CORS grant')
})

t.test('with CORS_ORIGINS and WEB_ORIGIN empty there are no CORS headers at all', async (t) => {
  const s = await startAuth(t, { WEB_ORIGIN: '' })
  const r = await fetch(`${s.url}/.well-known/jwks.json`, { headers: { origin: APP } })
  t.equal(r.status, 200)
  t.equal(r.headers.get('access-control-allow-origin'), null)
})

t.test('the web app\'s default origin (WEB_ORIGIN) is allowed with credentials, and may refresh with the cookie', async (t) => {
  const web = 'http://localhost:3000'
  const s = await startAuthAtIssuer(t)
  const preflight = await fetch(`${s.url}/v1/refresh`, { method: 'OPTIONS', headers: { origin: web, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-ratchet-csrf,x-ratchet-token-delivery' } })
  t.equal(preflight.headers.get('access-control-allow-origin'), web)
  t.equal(preflight.headers.get('access-control-allow-credentials'), 'true')
  const { cookie } = await cookieLogin(t, s)
  const refreshed = await call(`${s.url}/v1/refresh`, { body: {}, headers: withCookie(cookie.value, { origin: web, 'x-ratchet-csrf': '1', ...ask }) })
  t.equal(refreshed.status, 200, 'its Origin is trusted for the cookie')
})

t.test('every response carries helmet security headers', async (t) => {
  const s = await startAuth(t)
  for (const path of ['/health/live', '/.well-known/jwks.json', '/v1/nothing']) {
    const r = await fetch(`${s.url}${path}`)
    t.equal(r.headers.get('x-content-type-options'), 'nosniff', path)
    t.match(r.headers.get('content-security-policy'), /default-src 'none'.*frame-ancestors 'none'/, path)
    t.match(r.headers.get('strict-transport-security'), /max-age=\d+/, path)
    t.equal(r.headers.get('x-frame-options'), 'DENY', path)
  }
})

t.test('the resource service sends the same security headers and CORS only to allow-listed origins, without credentials', async (t) => {
  const config = loadConfig(ResourceEnv, dependencyEnv(), { ...isolation(), LOG_LEVEL: 'silent', PORT: 0, CORS_ORIGINS: APP, ISSUER: 'http://127.0.0.1:9' })
  const app = await buildResource(config, { logger: false })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const live = await fetch(`${url}/health/live`, { headers: { origin: APP } })
  t.equal(live.status, 200)
  t.equal(live.headers.get('x-content-type-options'), 'nosniff')
  t.match(live.headers.get('content-security-policy'), /default-src 'none'/)
  t.equal(live.headers.get('access-control-allow-origin'), APP)
  t.equal(live.headers.get('access-control-allow-credentials'), null, 'bearer tokens only: no cookies cross-origin')
  const foreign = await fetch(`${url}/health/live`, { headers: { origin: 'https://evil.example' } })
  t.equal(foreign.headers.get('access-control-allow-origin'), null)
  const web = await fetch(`${url}/health/live`, { headers: { origin: 'http://localhost:3000' } })
  t.equal(web.headers.get('access-control-allow-origin'), 'http://localhost:3000', 'WEB_ORIGIN by default')
  t.equal(web.headers.get('access-control-allow-credentials'), null)
})
