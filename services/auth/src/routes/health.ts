import { Type } from 'typebox'
import type { App, RouteDeps } from './context.js'

const Health = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.Boolean())) })

export async function healthRoutes (app: App, { ready }: RouteDeps): Promise<void> {
  app.get('/health/live', { schema: { tags: ['health'], response: { 200: Health } }, logLevel: 'warn' }, async () => ({ status: 'ok' }))
  app.get('/health/ready', { schema: { tags: ['health'], response: { 200: Health, 503: Health } }, logLevel: 'warn' }, async (_request, reply) => {
    const checks = await ready()
    const ok = Object.values(checks).every(Boolean)
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks })
  })
}
