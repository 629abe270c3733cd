import type { ServerOptions } from 'node:http'

/** A request is cut within this long after its REQUEST_TIMEOUT: how often Node looks (ms). */
const CHECK_INTERVAL_MS = 1000

/**
 * Fastify's options for REQUEST_TIMEOUT and CONNECTION_TIMEOUT (seconds). Fastify alone
 * is not enough: it sets the server's requestTimeout after createServer, beside Node's
 * own headersTimeout of 60 s, and with a headersTimeout above the requestTimeout Node
 * enforces neither, so a body trickled a byte at a time was held for ever (measured
 * with REQUEST_TIMEOUT=1). Node also looks only every 30 s by default. So both timeouts
 * and a 1 s check go to createServer; CONNECTION_TIMEOUT (silence) is the socket's.
 */
export function serverTimeouts ({ REQUEST_TIMEOUT, CONNECTION_TIMEOUT }: { REQUEST_TIMEOUT: number, CONNECTION_TIMEOUT: number }): { requestTimeout: number, connectionTimeout: number, http: ServerOptions } {
  const requestTimeout = REQUEST_TIMEOUT * 1000
  return {
    requestTimeout,
    connectionTimeout: CONNECTION_TIMEOUT * 1000,
    http: { requestTimeout, headersTimeout: Math.min(requestTimeout, 60_000), connectionsCheckingInterval: CHECK_INTERVAL_MS }
  }
}
