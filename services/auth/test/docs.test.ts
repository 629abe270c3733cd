import t from 'tap'
import { docsContract, startAuth, type OpenApiDocument } from './helpers.js'

// one service for every test here: they only read what it documents
const { app, url } = await startAuth(t)

docsContract(t, app, url, { title: /auth/, minRoutes: 15 })

t.test('bearer routes say so', async (t) => {
  const spec = await (await fetch(`${url}/docs/json`)).json() as OpenApiDocument
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
