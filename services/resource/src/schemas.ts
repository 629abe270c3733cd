import { ErrorResponse } from '@ratchet/fastify'

export { ErrorResponse }

/** What a bearer-protected route may answer besides its success (RFC 6750). */
export const bearerErrors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse } as const

/** The OpenAPI security requirement of a bearer-protected route (docs only). */
export const bearerSecurity = [{ bearerAuth: [] }]
