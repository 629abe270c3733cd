import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify'
import { openApiOptions, swaggerUiOptions } from '@ratchet/shared'

export interface RouteEntry { method: string, url: string, schema: FastifySchema | undefined }

export interface DocsOptions { title: string, version: string, description: string }

const inventories = new WeakMap<FastifyInstance, RouteEntry[]>()

/** Every API route added after the docs plugin, as declared (tests check each has a schema). */
export function routeInventory (app: FastifyInstance): RouteEntry[] {
  return inventories.get(app) ?? []
}

/**
 * OpenAPI 3.1 generated from the route schemas (the documented API is the
 * validated one) at /docs/json, /docs/yaml, and a browsable UI at /docs.
 * Must be registered before the routes: both read them as they are added.
 */
async function docsPlugin (app: FastifyInstance, info: DocsOptions) {
  const routes: RouteEntry[] = []
  inventories.set(app, routes)
  app.addHook('onRoute', (route: RouteOptions) => {
    // hidden routes are not the API: @fastify/cors' OPTIONS * preflight answers for every path
    if ((route.schema as { hide?: boolean } | undefined)?.hide === true) return
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, schema: route.schema })
  })
  await app.register(swagger, openApiOptions({ title: info.title, version: info.version, description: info.description }))
  await app.register(swaggerUi, swaggerUiOptions)
}

export const docs = fp(docsPlugin, { name: 'ratchet-docs', fastify: '5.x' })
