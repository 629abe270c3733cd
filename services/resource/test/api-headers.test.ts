import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import Fastify, { LogController } from 'fastify'
import { apiHeaders, lazyRequestLogger, requestIds } from '@ratchet/fastify'
import { securityHeaders } from '@ratchet/shared'

const APP = 'http://app.example'

/** A Fastify app with the common headers over a real socket, as both services register them. */
async function serve (t: Test, cors: boolean): Promise<string> {
  const app = Fastify({ genReqId: requestIds() })
  await app.register(apiHeaders, {
    securityHeaders: securityHeaders(),
    cors: cors ? { origins: [APP], credentials: true, methods: ['GET', 'POST'], allowedHeaders: ['authorization', 'content-type'], exposedHeaders: ['retry-after', 'www-authenticate'], maxAge: 600 } : undefined
  })
  app.get('/thing', async () => ({ ok: true }))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  return url
}

t.test('every answer carries the request id and the security headers; CORS only for an allow-listed origin', async (t) => {
  const url = await serve(t, true)
  const plain = await fetch(`${url}/thing`)
  t.equal(plain.status, 200)
  t.match(plain.headers.get('x-request-id'), /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(plain.headers.get('x-frame-options'), 'DENY')
  t.equal(plain.headers.get('x-content-type-options'), 'nosniff')
  t.equal(plain.headers.get('vary'), 'Origin', 'the answer depends on Origin, so caches must know')
  t.equal(plain.headers.get('access-control-allow-origin'), null)

  const ours = await fetch(`${url}/thing`, { headers: { origin: APP } })
  t.equal(ours.headers.get('access-control-allow-origin'), APP)
  t.equal(ours.headers.get('access-control-allow-credentials'), 'true')
  t.equal(ours.headers.get('access-control-expose-headers'), 'retry-after, www-authenticate')

  const foreign = await fetch(`${url}/thing`, { headers: { origin: 'http://evil.example' } })
  t.equal(foreign.status, 200)
  t.equal(foreign.headers.get('access-control-allow-origin'), null)
  t.equal(foreign.headers.get('access-control-allow-credentials'), null)

  const missing = await fetch(`${url}/nowhere`)
  t.equal(missing.status, 404)
  t.ok(missing.headers.get('x-request-id'), 'a 404 names its request too')
  t.equal(missing.headers.get('x-frame-options'), 'DENY')
})

t.test('a preflight is answered before any route, with the grant only for an allow-listed origin', async (t) => {
  const url = await serve(t, true)
  const ask = (origin: string): Promise<Response> => fetch(`${url}/thing`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
  const ours = await ask(APP)
  t.equal(ours.status, 204)
  t.equal(ours.headers.get('access-control-allow-origin'), APP)
  t.equal(ours.headers.get('access-control-allow-methods'), 'GET, POST')
  t.equal(ours.headers.get('access-control-allow-headers'), 'authorization, content-type')
  t.equal(ours.headers.get('access-control-max-age'), '600')
  t.ok(ours.headers.get('x-request-id'))
  const foreign = await ask('http://evil.example')
  t.equal(foreign.status, 204)
  t.equal(foreign.headers.get('access-control-allow-origin'), null, 'no grant for a foreign origin')
  const notPreflight = await fetch(`${url}/thing`, { method: 'OPTIONS' })
  t.equal(notPreflight.status, 400)
  t.equal(await notPreflight.text(), 'Invalid Preflight Request')
})

t.test('without a CORS policy there are no CORS headers at all', async (t) => {
  const url = await serve(t, false)
  const r = await fetch(`${url}/thing`, { headers: { origin: APP } })
  t.equal(r.status, 200)
  t.equal(r.headers.get('access-control-allow-origin'), null)
  t.equal(r.headers.get('vary'), null)
  t.equal(r.headers.get('x-frame-options'), 'DENY')
})

t.test('request ids are distinct within a process and differ between processes', async (t) => {
  const a = requestIds()
  const b = requestIds()
  const ids = new Set(Array.from({ length: 1000 }, () => a()))
  t.equal(ids.size, 1000)
  t.not(a().slice(0, 24), b().slice(0, 24), 'each generator draws its own random part')
})

t.test('the lazy request logger logs what an eager child would, and only at enabled levels', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); done() } })
  const app = Fastify({ logger: { level: 'warn', stream }, genReqId: requestIds(), childLoggerFactory: lazyRequestLogger, logController: new LogController({ disableRequestLogging: true }) })
  app.get('/quiet', async (request) => { request.log.info('not at warn'); return {} })
  app.get('/loud', async (request) => { request.log.warn({ what: 'x' }, 'at warn'); request.log.child({ part: 'inner' }).error('from a child'); return {} })
  app.get('/chatty', { logLevel: 'info' }, async (request) => { request.log.info('the route asks for info'); return {} })
  t.teardown(async () => { await app.close() })
  await app.inject('/quiet')
  t.same(lines, [], 'nothing below the level')
  await app.inject('/loud')
  t.match(lines, [{ level: 40, msg: 'at warn', what: 'x' }, { level: 50, msg: 'from a child', part: 'inner' }])
  t.equal(lines[0]!.reqId, lines[1]!.reqId, 'the child keeps the request id')
  t.type(lines[0]!.reqId, 'string')
  await app.inject('/chatty')
  t.match(lines[2], { level: 30, msg: 'the route asks for info' }, 'a route-level logLevel still applies')
})
