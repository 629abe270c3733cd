/**
 * Why a receiver's endpoint_url is refused, or undefined when it is fine: an
 * absolute http(s) URL, no credentials in it (they would sit in Redis and in
 * every response), and, when SSF_RECEIVER_URL_PATTERN is set, matching it in
 * full, so receivers cannot aim pushes at the auth service's own network.
 */
export function checkEndpointUrl (value: string, pattern: RegExp | undefined): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'must be an absolute URL'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL'
  if (url.username !== '' || url.password !== '') return 'must not carry credentials (use delivery.authorization_header)'
  if (url.hash !== '') return 'must not have a fragment'
  if (pattern !== undefined && !pattern.test(value)) return 'is not allowed by SSF_RECEIVER_URL_PATTERN'
  return undefined
}

/** SSF_RECEIVER_URL_PATTERN as an anchored expression; undefined when empty (any http(s) URL). */
export function compileUrlPattern (setting: string): RegExp | undefined {
  if (setting === '') return undefined
  return new RegExp(`^(?:${setting})$`)
}
