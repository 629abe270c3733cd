import type { FastifyRequest } from 'fastify'
import type { AccessTokenClaims } from '@ratchet/shared'
import { invalidToken, missingCredentials, readBearer } from '../plugins/bearer.js'
import type { DeviceInfo } from '../stores/sessions.js'
import type { TokenService } from '../tokens/service.js'

/** The caller's access token; `allowExpired` for logout, which is always allowed. */
export function bearerClaims (request: FastifyRequest, tokens: Pick<TokenService, 'verifyAccess'>, allowExpired = false): AccessTokenClaims {
  const token = readBearer(request)
  if (token === undefined) throw missingCredentials()
  try { return tokens.verifyAccess(token, allowExpired) } catch (err) { throw invalidToken(err as Error) }
}

/** Turns "the session has ended" into the RFC 6750 invalid_token answer it is. */
export async function asBearerFailure<T> (work: Promise<T>): Promise<T> {
  try { return await work } catch (err) {
    if ((err as { code?: string }).code === 'RATCHET_INVALID_ACCESS_TOKEN') throw invalidToken(err as Error)
    throw err
  }
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
