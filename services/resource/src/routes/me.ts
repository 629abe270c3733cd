import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { bearerErrors, bearerSecurity } from '../schemas.js'

const Me = Type.Object({
  sub: Type.String(),
  sid: Type.String(),
  scope: Type.String(),
  exp: Type.Number(),
  client_id: Type.String(),
  auth_time: Type.Number()
})

/** GET /v1/me: who the access token says you are. // wire contract */
const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/me', {
    onRequest: app.requireToken(),
    schema: { tags: ['me'], summary: 'Who the access token says you are', security: bearerSecurity, response: { 200: Me, ...bearerErrors } }
  }, async (request) => {
    const t = request.token!
    return { sub: t.sub, sid: t.sid, scope: t.scope, exp: t.exp, client_id: t.client_id, auth_time: t.auth_time }
  })
}

export default meRoutes
