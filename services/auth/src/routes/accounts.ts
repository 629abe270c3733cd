import { errors } from '@ratchet/shared'
import { Credentials, ErrorResponse, SignupResponse, TokenResponse } from '../schemas.js'
import { normaliseEmail } from '../stores/users.js'
import { cookieAware, sendTokens } from '../plugins/cookies.js'
import { noStore, type App, type RouteDeps } from './context.js'

export async function accountRoutes (app: App, { tokens, users, passwords }: RouteDeps): Promise<void> {
  app.post('/v1/signup', {
    schema: { tags: ['accounts'], summary: 'Create an account and sign in', body: Credentials, response: { 201: cookieAware(SignupResponse), 400: ErrorResponse, 409: ErrorResponse } }
  }, async (request, reply) => {
    const email = normaliseEmail(request.body.email)
    const hash = await passwords.hash(request.body.password)
    const user = await users.create(email, hash, tokens.now())
    if (user === undefined) throw new errors.RATCHET_EMAIL_TAKEN()
    request.log.info({ event: 'signup', sub: user.id }, 'account created')
    const response = await tokens.startSession(user.id)
    return sendTokens(request, reply.code(201).headers(noStore), { ...response, user: { id: user.id, email } })
  })

  app.post('/v1/login', {
    schema: { tags: ['accounts'], summary: 'Sign in with e-mail and password', body: Credentials, response: { 200: cookieAware(TokenResponse), 400: ErrorResponse, 401: ErrorResponse } }
  }, async (request, reply) => {
    const email = normaliseEmail(request.body.email)
    const user = await users.findByEmail(email)
    // same work, status and body for an unknown address and a wrong password
    const ok = user === undefined
      ? await passwords.verifyDummy(request.body.password)
      : await passwords.verify(user.hash, request.body.password)
    if (user === undefined || !ok) {
      request.log.info({ event: 'login_failed' }, 'login failed')
      throw new errors.RATCHET_INVALID_CREDENTIALS()
    }
    if (passwords.needsRehash(user.hash)) {
      // parameters were raised since this hash was made: upgrade it while we hold the password
      await users.updateHash(email, await passwords.hash(request.body.password))
    }
    request.log.info({ event: 'login', sub: user.id }, 'login')
    return sendTokens(request, reply.headers(noStore), await tokens.startSession(user.id))
  })
}
