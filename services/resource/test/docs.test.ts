import t from 'tap'
import { docsContract, start, type OpenApiDocument } from './helpers.js'

// one service for every test here: they only read what it documents
const { app, url } = await start(t)

docsContract(t, app, url, { title: /resource/, minRoutes: 8 })

t.test('bearer routes say so', async (t) => {
  const spec = await (await fetch(`${url}/docs/json`)).json() as OpenApiDocument
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
