import t from 'tap'
import { Validator } from '@seriousme/openapi-schema-validator'
import { start } from './helpers.js'
import { routeInventory } from '@ratchet/fastify'

/** The UI's own files and routes: not part of the API. */
const undocumented = (url: string) => url === '/docs' || url.startsWith('/docs/')

/** Fastify's path syntax (`/v1/sessions/:sid`) in OpenAPI's (`/v1/sessions/{sid}`). */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}')

// one service for every test here: they only read what it documents
const { app, url } = await start(t)

t.test('every route declares a schema with its responses', async (t) => {
  const routes = routeInventory(app).filter((r) => !undocumented(r.url))
  t.ok(routes.length >= 8, `the inventory saw the routes (${routes.length})`)
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
  t.match(spec.info, { title: /resource/, version: /^\d+\.\d+\.\d+/ })
  const result = await new Validator().validate(spec as unknown as Record<string, unknown>)
  t.ok(result.valid, `valid OpenAPI: ${JSON.stringify(result.errors ?? []).slice(0, 500)}`)
  for (const r of routeInventory(app)) {
    if (undocumented(r.url) || r.method === 'HEAD') continue
    t.ok(spec.paths[openapiPath(r.url)]?.[r.method.toLowerCase()], `${r.method} ${r.url} is documented`)
  }
  t.match(spec.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer' } })
  for (const [path, method] of [['/v1/me', 'get'], ['/v1/notes', 'get'], ['/v1/notes', 'post'], ['/v1/notes/{id}', 'delete']] as const) {
    const op = spec.paths[path]?.[method] as { security?: unknown, responses?: Record<string, unknown> } | undefined
    t.same(op?.security, [{ bearerAuth: [] }], `${method} ${path} names the bearer scheme`)
    t.ok(op?.responses?.['401'] !== undefined, `${method} ${path} documents its 401`)
  }
})

t.test('the notes body is documented as JSON with its limits', async (t) => {
  const spec = await (await fetch(`${url}/docs/json`)).json() as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, Record<string, unknown>> } }> } }>> }
  const content = spec.paths['/v1/notes']?.post?.requestBody?.content ?? {}
  t.same(Object.keys(content), ['application/json'])
  t.match(content['application/json']?.schema.properties.text, { type: 'string', minLength: 1 })
})

t.test('/docs serves the browsable UI', async (t) => {
  const res = await fetch(`${url}/docs`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /text\/html/)
  t.match(await res.text(), /swagger/i)
})
