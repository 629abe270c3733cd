/**
 * NATS_URL as the client's server list: one URL, or several comma-separated (the
 * nodes of a NATS cluster). The client takes a list; a single string with commas
 * would be read as one malformed address.
 */
export function natsServers (url: string): string[] {
  return url.split(',').map((s) => s.trim()).filter((s) => s !== '')
}
