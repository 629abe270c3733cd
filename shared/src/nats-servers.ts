/**
 * NATS_URL (one server, or the nodes of a NATS cluster) as connection options: the servers without credentials, and the
 * `user:pass` (or a lone token) that any of them carried. nats.js does not
 * read credentials from the URL itself, so they are lifted out here.
 */
export function natsConnectOptions (servers: readonly string[]): { servers: string[], user?: string, pass?: string, token?: string } {
  const out: { servers: string[], user?: string, pass?: string, token?: string } = { servers: [] }
  for (const server of servers) {
    let parsed: URL
    try { parsed = new URL(server.includes('://') ? server : `nats://${server}`) } catch { out.servers.push(server); continue }
    if (parsed.username !== '' && out.user === undefined && out.token === undefined) {
      const user = decodeURIComponent(parsed.username)
      if (parsed.password !== '') { out.user = user; out.pass = decodeURIComponent(parsed.password) } else { out.token = user }
    }
    out.servers.push(`${parsed.protocol}//${parsed.host}`)
  }
  return out
}
