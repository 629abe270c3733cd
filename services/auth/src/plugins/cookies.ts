import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'
import { Type, type TObject } from 'typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { browserOrigins, errors, type AuthConfig, type TokenResponse } from '@ratchet/shared'

/**
 * `__Host-`: the browser only accepts it with Secure, Path=/ and no Domain, so
 * no sibling subdomain can set or overwrite it (cookie tossing). That prefix
 * forces Path=/; we scope by name instead: only /v1/refresh and /v1/logout
 * read it, and the auth origin serves nothing else a browser would run.
 * // wire contract
 */
export const REFRESH_COOKIE = '__Host-ratchet_rt'
/** Sent on login, signup or refresh to have the refresh token set as a cookie instead of returned. // wire contract */
export const DELIVERY_HEADER = 'x-ratchet-token-delivery'
/** Required whenever the refresh token comes from the cookie. // wire contract */
export const CSRF_HEADER = 'x-ratchet-csrf'

/** A token response schema whose refresh_token may be absent (it went into the cookie). */
export function cookieAware<T extends TObject> (schema: T) {
  return Type.Object({ ...schema.properties, refresh_token: Type.Optional(Type.String({ description: `absent when delivered as the ${REFRESH_COOKIE} cookie` })) })
}

const originOf = (url: string) => new URL(url).origin

/**
 * The refresh token from the cookie, if there is one. A cookie is sent by the
 * browser on its own, so its use is guarded against cross-site requests
 * (ASVS V3.5.3/V4.2.2): the custom header cannot be sent cross-site without a
 * CORS preflight that only allow-listed origins pass, and the Origin must be
 * one we trust. SameSite=Strict is a third layer, not the only one.
 */
export function readRefreshCookie (request: FastifyRequest, config: Pick<AuthConfig, 'CORS_ORIGINS' | 'WEB_ORIGIN' | 'ISSUER'>): string | undefined {
  const token = request.cookies[REFRESH_COOKIE]
  if (token === undefined || token === '') return undefined
  if (request.headers[CSRF_HEADER] !== '1') throw new errors.RATCHET_CSRF_REJECTED(`the ${CSRF_HEADER}: 1 header is required with the cookie`)
  const origin = request.headers.origin
  const trusted = [originOf(config.ISSUER), ...browserOrigins(config)]
  if (origin === undefined || !trusted.includes(origin)) throw new errors.RATCHET_CSRF_REJECTED('the Origin is not allowed')
  return token
}

export function clearRefreshCookie (reply: FastifyReply): void {
  reply.clearCookie(REFRESH_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'strict' })
}

/**
 * Sends a token response, moving the refresh token into the cookie when the
 * client asked for it (header) or presented it that way: script on the page
 * then never sees it.
 */
export function sendTokens<T extends TokenResponse> (request: FastifyRequest, reply: FastifyReply, response: T, viaCookie = false) {
  if (!viaCookie && request.headers[DELIVERY_HEADER] !== 'cookie') return reply.send(response)
  const { refresh_token: refreshToken, ...rest } = response
  reply.setCookie(REFRESH_COOKIE, refreshToken, { path: '/', httpOnly: true, secure: true, sameSite: 'strict', maxAge: response.refresh_token_expires_in })
  return reply.send(rest)
}

async function cookiesPlugin (app: FastifyInstance) {
  // unsigned: the value is itself a signed JWT, a second signature adds nothing
  await app.register(cookie)
}

export default fp(cookiesPlugin, { name: 'ratchet-cookies', fastify: '5.x' })
