import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { Credentials, ErrorResponse, Password, SignupResponse, TokenResponse } from '../schemas.js'
import { cookieAware, sendTokens } from '../plugins/cookies.js'
import { bearerClaims, deviceOf } from './caller.js'
import { noStore, type App, type RouteDeps } from './context.js'

const bearer = [{ bearerAuth: [] }]

export async function accountRoutes (app: App, { accounts, tokens, dpop }: RouteDeps): Promise<void> {
  // a sign-in with a DPoP proof binds the new session to the proof's key (RFC 9449 §5)
  const device = async (request: FastifyRequest) => ({ ...deviceOf(request), jkt: (await dpop.forTokenRequest(request))?.jkt })

  app.post('/v1/signup', {
    schema: { tags: ['accounts'], summary: 'Create an account and sign in', body: Credentials, response: { 201: cookieAware(SignupResponse), 400: ErrorResponse, 409: ErrorResponse } }
  }, async (request, reply) => {
    const response = await accounts.signUp(request.body.email, request.body.password, await device(request))
    return sendTokens(request, reply.code(201).headers(noStore), response)
  })

  app.post('/v1/login', {
    schema: { tags: ['accounts'], summary: 'Sign in with e-mail and password', body: Credentials, response: { 200: cookieAware(TokenResponse), 400: ErrorResponse, 401: ErrorResponse } }
  }, async (request, reply) => {
    const response = await accounts.logIn(request.body.email, request.body.password, await device(request))
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
    const caller = await bearerClaims(request, { tokens, dpop })
    // a bound caller's proof was spent on its token: the new session keeps that key
    const jkt = caller.cnf?.jkt ?? (await dpop.forTokenRequest(request))?.jkt
    const response = await accounts.changePassword(caller, request.body.current_password, request.body.new_password, { ...deviceOf(request), jkt })
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
    const account = await accounts.account(await bearerClaims(request, { tokens, dpop }))
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
    await accounts.deleteAccount(await bearerClaims(request, { tokens, dpop }), request.body.password)
    return reply.code(204).header('clear-site-data', '"cookies", "storage"').send(null)
  })
}
