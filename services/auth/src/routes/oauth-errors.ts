import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { catalogued, type OAuthErrorCode } from '@ratchet/shared'
import { toErrorAnswer } from '@ratchet/fastify'

export type { OAuthErrorCode }

/** A protocol error of the /oauth endpoints themselves (a wrong grant type, an unknown client). */
export class OAuthError extends Error {
  constructor (readonly error: OAuthErrorCode, message: string, readonly statusCode = error === 'invalid_client' ? 401 : 400) {
    super(message)
  }
}

/** RFC 6749 §5.2: 400 for every code but invalid_client (401), RFC 9449's two included; ours for the outage and failure codes. */
const STATUS: Partial<Record<OAuthErrorCode, number>> = { invalid_client: 401, temporarily_unavailable: 503, server_error: 500 }

/**
 * The /oauth/* error handler: RFC 6749 §5.2 bodies. A catalogue error brings
 * its own OAuth code; what has none is invalid_request at its own status (a
 * 413, a 429), or server_error once the shared mapping has hidden it.
 */
export function oauthErrorHandler (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  if (err instanceof OAuthError) {
    if (err.error === 'invalid_client' && request.headers.authorization !== undefined) reply.header('www-authenticate', 'Basic realm="ratchet"')
    return reply.code(err.statusCode).send({ error: err.error, error_description: err.message })
  }
  if (err.validation !== undefined) return reply.code(400).send({ error: 'invalid_request', error_description: err.message })
  const { body, retryAfter } = toErrorAnswer(err, request)
  const error = catalogued(body.code)?.wire.oauth
  if (body.statusCode === 503 || retryAfter !== undefined) reply.header('retry-after', String(retryAfter ?? 1))
  if (error !== undefined) return reply.code(STATUS[error] ?? 400).send({ error, error_description: body.message })
  return reply.code(body.statusCode).send({ error: body.statusCode >= 500 ? 'server_error' : 'invalid_request', error_description: body.message })
}
