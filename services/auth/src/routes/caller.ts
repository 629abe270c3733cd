import type { FastifyRequest } from 'fastify'
import type { AccessTokenClaims } from '@ratchet/shared'
import { requireBearer } from '@ratchet/fastify'
import type { DeviceInfo } from '../stores/sessions.js'
import type { TokenService } from '../tokens/service.js'

/** The caller's access token; `allowExpired` for logout, which is always allowed. */
export function bearerClaims (request: FastifyRequest, tokens: Pick<TokenService, 'verifyAccess'>, allowExpired = false): AccessTokenClaims {
  return tokens.verifyAccess(requireBearer(request.headers.authorization), allowExpired)
}

// Shown to the user in the device list and nothing else; bounded so a client
// cannot make a session's Redis record large (the budget is 512 B a session).
const MAX_USER_AGENT = 200
const MAX_IP = 64

/** The device a login comes from, as seen: `request.ip` follows TRUST_PROXY. */
export function deviceOf (request: FastifyRequest): DeviceInfo {
  const ua = request.headers['user-agent']
  return {
    // control characters never reach a page that shows this
    userAgent: typeof ua === 'string' ? ua.replace(/[\p{Cc}]/gu, '').slice(0, MAX_USER_AGENT) : undefined,
    ip: request.ip.slice(0, MAX_IP)
  }
}
