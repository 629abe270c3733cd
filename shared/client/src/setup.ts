import { CLIENT_ERROR_CODES, RatchetClientError } from './errors.js'
import { pageOrigin } from './http.js'

/**
 * Refuses, at `createClient`, a cookie-mode set-up the browser would break without a
 * word: it drops a `Secure` `SameSite=Strict` `__Host-` cookie outside a secure
 * context, and on any cross-site response (page and auth service on different sites).
 */
export function checkCookieSetup (authUrl: string): void {
  const page = pageOrigin()
  if (page === null) return
  if ((globalThis as { isSecureContext?: boolean }).isSecureContext === false) {
    throw misconfigured(`cookie mode needs a secure context (https://, or http://localhost): ${page} is not one, so the browser would drop the refresh cookie`)
  }
  const pageSite = siteOf(new URL(page))
  const authSite = siteOf(new URL(authUrl))
  if (pageSite !== authSite) {
    throw misconfigured(`cookie mode needs the page and the auth service on the same site: the page is on ${pageSite}, the auth service (${authUrl}) on ${authSite}, so the browser would refuse the refresh cookie (see docs/sdk.md)`)
  }
}

/**
 * The site of a URL: its scheme and registrable domain. Without the Public Suffix List
 * the last two labels stand in for it (a page on foo.github.io is then taken for the
 * same site as bar.github.io; the browser still refuses that cookie, and the first
 * refresh names it). Ports never matter; an IP address or `localhost` is a site itself.
 */
function siteOf (url: URL): string {
  const host = url.hostname
  const ip = /^[\d.]+$/.test(host) || host.startsWith('[')
  const site = ip ? host : host.split('.').slice(host.endsWith('localhost') ? -1 : -2).join('.')
  return `${url.protocol}//${site}`
}

export function misconfigured (message: string): RatchetClientError {
  return new RatchetClientError(CLIENT_ERROR_CODES.MISCONFIGURED, message)
}
