import { Type } from 'typebox'

/** The one error body (errors.ts); requestId only on a 5xx. // wire contract */
export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
  requestId: Type.Optional(Type.String())
})
