import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import Fastify, { type FastifyServerOptions } from 'fastify'
import type { WebConfig } from './config.js'

/** Where `npm run build` puts the page: dist/public beside this module's dist/app.js. */
export const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url))

export interface WebOptions {
  logger?: FastifyServerOptions['logger']
  /** The built page; PUBLIC_DIR by default. */
  publicDir?: string
}

/**
 * The web app's server: the built static page, and /config.json telling the page
 * where the auth and resource services are. It holds no session and proxies
 * nothing: the page talks to both services itself, with CORS.
 */
export async function buildApp (config: WebConfig, opts: WebOptions = {}) {
  const app = Fastify({ logger: opts.logger ?? { level: config.LOG_LEVEL } })
  const authUrl = new URL(config.AUTH_URL).origin
  const resourceUrl = new URL(config.RESOURCE_URL).origin
  // the page runs no inline script or style and talks to the two services only
  const headers = {
    'content-security-policy': `default-src 'self'; connect-src 'self' ${authUrl} ${resourceUrl}; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin'
  }
  app.addHook('onRequest', async (_request, reply) => { reply.headers(headers) })

  app.get('/config.json', async (_request, reply) => {
    return reply.header('cache-control', 'no-cache').send({ authUrl, resourceUrl })
  })
  app.get('/health/live', { logLevel: 'warn' }, async () => ({ status: 'ok' }))
  await app.register(fastifyStatic, { root: opts.publicDir ?? PUBLIC_DIR, cacheControl: false, setHeaders: (res) => { res.setHeader('cache-control', 'no-cache') } })
  return app
}
