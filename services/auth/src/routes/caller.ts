import type { FastifyRequest } from 'fastify'
import { errors, type AccessTokenClaims } from '@ratchet/shared'
import type { DeviceInfo, TokenService } from '../tokens/service.js'
import type { AuthDpop } from '../tokens/dpop.js'
import { presentedAccessToken } from '../plugins/jwt.js'

/**
 * The caller's access token; `allowExpired` for logout, which is always allowed.
 * A DPoP-bound token counts only as `Authorization: DPoP` with a proof by its key
 * (RFC 9449 §7), so a stolen bound token opens nothing here either.
 */
export async function bearerClaims (request: FastifyRequest, { tokens, dpop }: { tokens: Pick<TokenService, 'verifyCaller'>, dpop: AuthDpop }, allowExpired = false): Promise<AccessTokenClaims> {
  // first, so a missing or malformed header is answered as such, not as a bad token
  const { token, asDpop } = presentedAccessToken(request.headers.authorization)
  const claims = await tokens.verifyCaller(request, allowExpired)
  const jkt = claims.cnf?.jkt
  if (jkt === undefined && asDpop) throw new errors.RATCHET_INVALID_ACCESS_TOKEN('the access token is not DPoP-bound: send it as Authorization: Bearer')
  if (jkt !== undefined) {
    if (!asDpop) throw new errors.RATCHET_INVALID_ACCESS_TOKEN('the access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof')
    await dpop.forAccessToken(request, token, jkt)
  }
  return claims
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
