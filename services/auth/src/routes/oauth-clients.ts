import { timingSafeEqual, createHash } from 'node:crypto'

/** Parses INTROSPECTION_CLIENTS (`id:secret,id2:secret2`). */
export function introspectionClients (setting: string): Map<string, Buffer> {
  const clients = new Map<string, Buffer>()
  for (const pair of setting.split(',')) {
    const at = pair.indexOf(':')
    if (at <= 0) continue
    clients.set(pair.slice(0, at), digest(pair.slice(at + 1)))
  }
  return clients
}

// comparing digests keeps the comparison constant-time whatever the lengths
function digest (secret: string): Buffer {
  return createHash('sha256').update(secret).digest()
}

/** HTTP Basic per RFC 6749 §2.3.1 (form-urlencoded id and secret inside). */
export function checkBasic (clients: Map<string, Buffer>, header: string | undefined): boolean {
  if (clients.size === 0 || header === undefined) return false
  const m = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (m === null) return false
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const at = decoded.indexOf(':')
  if (at < 0) return false
  let id: string, secret: string
  try {
    id = decodeURIComponent(decoded.slice(0, at).replace(/\+/g, ' '))
    secret = decodeURIComponent(decoded.slice(at + 1).replace(/\+/g, ' '))
  } catch {
    return false
  }
  const expected = clients.get(id)
  return expected !== undefined && timingSafeEqual(expected, digest(secret))
}
