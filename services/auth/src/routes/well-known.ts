import { Type } from 'typebox'
import type { App, RouteDeps } from './context.js'

export async function wellKnownRoutes (app: App, { ring }: RouteDeps): Promise<void> {
  app.get('/.well-known/jwks.json', {
    schema: { tags: ['keys'], summary: 'Public keys of every access-token key whose tokens may still be alive', response: { 200: Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }) } }
  }, async (_request, reply) => {
    // short enough that a new key is seen before it signs; resource services
    // also refetch at once on an unknown kid
    return reply.header('cache-control', 'public, max-age=300').send(ring().jwks())
  })
}
