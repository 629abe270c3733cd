import t from 'tap'
import { Validator } from '@seriousme/openapi-schema-validator'
import { startAuth } from './helpers.js'
import { routeInventory } from '@ratchet/fastify'

/** The UI's own files and routes: not part of the API. */
const undocumented = (url: string) => url === '/docs' || url.startsWith('/docs/')

/** Fastify's path syntax (`/v1/sessions/:sid`) in OpenAPI's (`/v1/sessions/{sid}`). */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}')

// one service for every test here: they only read what it documents
const { app, url } = await startAuth(t)

t.test('every route declares a schema with its responses', async (t) => {
  const routes = routeInventory(app).filter((r) => !undocumented(r.url))
  t.ok(routes.length >= 15, `the inventory saw the routes (${routes.length})`)
  for (const r of routes) {
    t.ok(r.schema?.response !== undefined, `${r.method} ${r.url} has a response schema`)
  }
  t.ok(routes.some((r) => r.url === '/metrics'), '/metrics is among them')
})

t.test('/docs/json is a valid OpenAPI 3 document listing every route over a real socket', async (t) => {
  const res = await fetch(`${url}/docs/json`)
  t.equal(res.status, 200)
  const spec = await res.json() as { openapi: string, info: { title: string, version: string }, paths: Record<string, Record<string, unknown>>, components: { securitySchemes: Record<string, unknown> } }
  t.match(spec.openapi, /^3\./)
  t.match(spec.info, { title: /auth/, version: /^\d+\.\d+\.\d+/ })
  const result = await new Validator().validate(spec as unknown as Record<string, unknown>)
  t.ok(result.valid, `valid OpenAPI: ${JSON.stringify(result.errors ?? []).slice(0, 500)}`)
  for (const r of routeInventory(app)) {
    if (undocumented(r.url) || r.method === 'HEAD') continue
    t.ok(spec.paths[openapiPath(r.url)]?.[r.method.toLowerCase()], `${r.method} ${r.url} is documented`)
  }
  t.match(spec.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer' } })
  t.same((spec.paths['/v1/logout-all']?.post as { security?: unknown })?.security, [{ bearerAuth: [] }], 'bearer routes say so')
})

t.test('the OAuth endpoints are documented as form-encoded, the /v1 ones as JSON', async (t) => {
  const spec = await (await fetch(`${url}/docs/json`)).json() as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>> }
  for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect']) {
    t.same(Object.keys(spec.paths[path]?.post?.requestBody?.content ?? {}), ['application/x-www-form-urlencoded'], path)
  }
  t.same(Object.keys(spec.paths['/v1/login']?.post?.requestBody?.content ?? {}), ['application/json'])
})

t.test('/docs serves the browsable UI', async (t) => {
  const res = await fetch(`${url}/docs`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /text\/html/)
  t.match(await res.text(), /swagger/i)
})
