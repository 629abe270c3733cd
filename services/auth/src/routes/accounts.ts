import { Type } from 'typebox'
import { Credentials, ErrorResponse, Password, SignupResponse, TokenResponse } from '../schemas.js'
import { cookieAware, sendTokens } from '../plugins/cookies.js'
import { bearerClaims, deviceOf } from './caller.js'
import { noStore, type App, type RouteDeps } from './context.js'

const bearer = [{ bearerAuth: [] }]

export async function accountRoutes (app: App, { accounts, tokens }: RouteDeps): Promise<void> {
  app.post('/v1/signup', {
    schema: { tags: ['accounts'], summary: 'Create an account and sign in', body: Credentials, response: { 201: cookieAware(SignupResponse), 400: ErrorResponse, 409: ErrorResponse } }
  }, async (request, reply) => {
    const response = await accounts.signUp(request.body.email, request.body.password, deviceOf(request))
    return sendTokens(request, reply.code(201).headers(noStore), response)
  })

  app.post('/v1/login', {
    schema: { tags: ['accounts'], summary: 'Sign in with e-mail and password', body: Credentials, response: { 200: cookieAware(TokenResponse), 400: ErrorResponse, 401: ErrorResponse } }
  }, async (request, reply) => {
    const response = await accounts.logIn(request.body.email, request.body.password, deviceOf(request))
    return sendTokens(request, reply.headers(noStore), response)
  })

  app.post('/v1/password', {
    schema: {
      tags: ['accounts'],
      summary: 'Change the password: every session ends, and this device gets a new one',
      security: bearer,
      body: Type.Object({ current_password: Type.String({ minLength: 1, maxLength: 1024 }), new_password: Password }, { additionalProperties: false }),
      response: { 200: cookieAware(TokenResponse), 400: ErrorResponse, 401: ErrorResponse, 429: ErrorResponse }
    }
  }, async (request, reply) => {
    const caller = bearerClaims(request, tokens)
    const response = await accounts.changePassword(caller, request.body.current_password, request.body.new_password, deviceOf(request))
    return sendTokens(request, reply.headers(noStore), response)
  })

  app.get('/v1/account', {
    schema: {
      tags: ['accounts'],
      summary: 'The signed-in account',
      security: bearer,
      response: { 200: Type.Object({ id: Type.String(), email: Type.String(), created_at: Type.Number({ description: 'NumericDate, ms precision' }) }), 401: ErrorResponse }
    }
  }, async (request, reply) => {
    const account = await accounts.account(bearerClaims(request, tokens))
    return reply.headers(noStore).send(account)
  })

  app.delete('/v1/account', {
    schema: {
      tags: ['accounts'],
      summary: 'Delete the account, its sessions and (at the resource service) its notes',
      security: bearer,
      body: Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
      response: { 204: Type.Null(), 400: ErrorResponse, 401: ErrorResponse, 429: ErrorResponse }
    }
  }, async (request, reply) => {
    await accounts.deleteAccount(bearerClaims(request, tokens), request.body.password)
    return reply.code(204).header('clear-site-data', '"cookies", "storage"').send(null)
  })
}
