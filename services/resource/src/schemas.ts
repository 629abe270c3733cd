import { Type } from '@fastify/type-provider-typebox'

/** The one error body (plugins/errors.ts); requestId only on a 5xx. // wire contract */
export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
  requestId: Type.Optional(Type.String())
})

/** What a bearer-protected route may answer besides its success (RFC 6750). */
export const bearerErrors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse } as const

/** The OpenAPI security requirement of a bearer-protected route (docs only). */
export const bearerSecurity = [{ bearerAuth: [] }]
