import { readFileSync } from 'node:fs'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify'
import { openApiOptions, swaggerUiOptions } from '@ratchet/shared'

/** the service's package.json, two levels up from src/plugins/ and dist/plugins/ alike (the image keeps it) */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

export interface RouteEntry { method: string, url: string, schema: FastifySchema | undefined }

const inventories = new WeakMap<FastifyInstance, RouteEntry[]>()

/** Every route added after the docs plugin, as declared (tests check each has a schema). */
export function routeInventory (app: FastifyInstance): RouteEntry[] {
  return inventories.get(app) ?? []
}

/**
 * OpenAPI 3.1 generated from the route schemas (the documented API is the
 * validated one) at /docs/json, /docs/yaml, and a browsable UI at /docs.
 * Must be registered before the routes: both read them as they are added.
 */
async function docsPlugin (app: FastifyInstance) {
  const routes: RouteEntry[] = []
  inventories.set(app, routes)
  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, schema: route.schema })
  })
  await app.register(swagger, openApiOptions({
    title: 'Ratchet resource service',
    version,
    description: 'A protected resource: verifies the auth service\'s access tokens on its own (JWKS) and rejects revoked sessions at once. Bearer errors follow RFC 6750.'
  }))
  await app.register(swaggerUi, swaggerUiOptions)
}

export default fp(docsPlugin, { name: 'docs', fastify: '5.x' })
