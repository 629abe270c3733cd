import { BoundedMemo } from '../bounded-memo.js'

// A client names the same few URLs in every proof and a service is asked the same few:
// the WHATWG parser (a new URL() costs microseconds) runs once per distinct string. Bounded,
// so a flood of made-up htu values only costs what it cost without the memo.
const memo = new BoundedMemo<string, string | null>(1024)

/**
 * The `htu` form RFC 9449 §4.3 compares: scheme and host lower-cased, the default port
 * dropped, dot segments resolved, no query and no fragment (the WHATWG URL parser does the
 * normalisation of RFC 3986 §6.2.2 and §6.2.3). Undefined when `url` is not absolute http(s).
 */
export function normaliseHtu (url: string): string | undefined {
  const known = memo.get(url)
  if (known !== undefined) return known ?? undefined
  return memo.set(url, parseHtu(url) ?? null) ?? undefined
}

function parseHtu (url: string): string | undefined {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return undefined
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined
  return `${u.protocol}//${u.host}${u.pathname}`
}

/**
 * The URL a request was made to, as its proof must name it: `publicUrl` (PUBLIC_URL, the
 * public base behind a proxy) when set, else the scheme and host the request arrived with.
 * `path` is the request target; its query is dropped.
 */
export function requestHtu (opts: { publicUrl: string, protocol: string, host: string, path: string }): string {
  const q = opts.path.indexOf('?')
  const path = q === -1 ? opts.path : opts.path.slice(0, q)
  const base = opts.publicUrl !== '' ? opts.publicUrl.replace(/\/+$/, '') : `${opts.protocol}://${opts.host}`
  return normaliseHtu(base + path) ?? base + path
}
