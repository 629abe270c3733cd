import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { toErrorAnswer } from '@ratchet/fastify'

/** RFC 6749 §5.2 error codes (plus RFC 7009's unsupported_token_type). // wire contract */
export type OAuthErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce' | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'unsupported_token_type' | 'temporarily_unavailable' | 'server_error'

export class OAuthError extends Error {
  constructor (readonly error: OAuthErrorCode, message: string, readonly statusCode = error === 'invalid_client' ? 401 : 400) {
    super(message)
  }
}

/** Maps our catalogue onto RFC 6749 §5.2, by code, in one place. */
function toOAuth (err: FastifyError & { oauthError?: OAuthErrorCode }): OAuthError | undefined {
  if (err instanceof OAuthError) return err
  if (err.validation !== undefined) return new OAuthError('invalid_request', err.message)
  if (err.code === 'RATCHET_INVALID_REFRESH_TOKEN') return new OAuthError(err.oauthError ?? 'invalid_grant', err.message.replace(/^Invalid refresh token: /, ''))
  if (err.code === 'RATCHET_INVALID_ACCESS_TOKEN') return new OAuthError('invalid_grant', err.message)
  // RFC 9449 §5 and §8: both are 400 at the token endpoint
  if (err.code === 'RATCHET_INVALID_DPOP_PROOF') return new OAuthError('invalid_dpop_proof', err.message.replace(/^Invalid DPoP proof: /, ''), 400)
  if (err.code === 'RATCHET_USE_DPOP_NONCE') return new OAuthError('use_dpop_nonce', err.message.replace(/^DPoP nonce required: /, ''), 400)
  return undefined
}

export function oauthErrorHandler (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  const mapped = toOAuth(err)
  if (mapped !== undefined) {
    if (mapped.error === 'invalid_client' && request.headers.authorization !== undefined) reply.header('www-authenticate', 'Basic realm="ratchet"')
    return reply.code(mapped.statusCode).send({ error: mapped.error, error_description: mapped.message })
  }
  const { body } = toErrorAnswer(err, request)
  if (body.statusCode === 503) return reply.code(503).header('retry-after', '1').send({ error: 'temporarily_unavailable', error_description: body.message })
  if (body.statusCode >= 500) return reply.code(500).send({ error: 'server_error', error_description: 'Internal server error' })
  return reply.code(body.statusCode).send({ error: 'invalid_request', error_description: body.message })
}
