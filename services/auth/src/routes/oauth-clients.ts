import { timingSafeEqual, createHash } from 'node:crypto'
import type { BasicCredential } from '@ratchet/shared'

/** The clients of a credentials setting (INTROSPECTION_CLIENTS, SSF_RECEIVERS), by id, with their secrets' digests. */
export function basicClients (credentials: readonly BasicCredential[]): Map<string, Buffer> {
  return new Map(credentials.map(({ id, secret }) => [id, digest(secret)]))
}

// comparing digests keeps the comparison constant-time whatever the lengths
function digest (secret: string): Buffer {
  return createHash('sha256').update(secret).digest()
}

/** HTTP Basic per RFC 6749 §2.3.1 (form-urlencoded id and secret inside). */
export function checkBasic (clients: Map<string, Buffer>, header: string | undefined): boolean {
  return basicClientId(clients, header) !== undefined
}

/** The client a valid HTTP Basic header names, or undefined. */
export function basicClientId (clients: Map<string, Buffer>, header: string | undefined): string | undefined {
  if (clients.size === 0 || header === undefined) return undefined
  const m = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (m === null) return undefined
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const at = decoded.indexOf(':')
  if (at < 0) return undefined
  let id: string, secret: string
  try {
    id = decodeURIComponent(decoded.slice(0, at).replace(/\+/g, ' '))
    secret = decodeURIComponent(decoded.slice(at + 1).replace(/\+/g, ' '))
  } catch {
    return undefined
  }
  const expected = clients.get(id)
  return expected !== undefined && timingSafeEqual(expected, digest(secret)) ? id : undefined
}
