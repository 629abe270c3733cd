import fp from 'fastify-plugin'
import { connect, Events, type NatsConnection } from 'nats'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { drainNats, natsConnectOptions } from '@ratchet/shared'

export interface NatsLinkOptions {
  /** NATS_URL: one server or several (the nodes of a cluster) */
  servers: readonly string[]
  name: string
  log: FastifyBaseLogger
  /** wait between first-connection attempts (ms) */
  retryMs?: number | undefined
}

export interface NatsLink {
  /** true while a connection is up */
  connected: () => boolean
  /** the connection once it is up; undefined when the link closed first */
  whenConnected: () => Promise<NatsConnection | undefined>
  /** runs after the first connection and after every reconnection (at once when connected already) */
  onConnect: (fn: (nc: NatsConnection) => void) => void
  close: () => Promise<void>
}

/**
 * A NATS connection that the service does not wait for: it starts without NATS,
 * keeps trying until the first connection, and from then on the client reconnects
 * by itself forever. Nothing here throws at the caller because NATS is away.
 */
export function createNatsLink (opts: NatsLinkOptions): NatsLink {
  const target = natsConnectOptions(opts.servers)
  const retryMs = opts.retryMs ?? 500
  const listeners: Array<(nc: NatsConnection) => void> = []
  let waiters: Array<(nc: NatsConnection | undefined) => void> = []
  let nc: NatsConnection | undefined
  let up = false
  let closing = false
  let timer: NodeJS.Timeout | undefined
  let warned = false

  function notify (fn: (nc: NatsConnection) => void, conn: NatsConnection): void {
    try { fn(conn) } catch (err) { opts.log.error({ err }, 'NATS connect listener failed') }
  }

  function becameConnected (conn: NatsConnection): void {
    up = true
    for (const w of waiters.splice(0)) w(conn)
    for (const fn of listeners) notify(fn, conn)
  }

  async function watch (conn: NatsConnection): Promise<void> {
    for await (const s of conn.status()) {
      if (s.type === Events.Disconnect) { up = false; opts.log.warn('NATS disconnected; reconnecting') }
      if (s.type === Events.Reconnect) { opts.log.info({ server: conn.getServer() }, 'NATS reconnected'); becameConnected(conn) }
    }
  }

  async function attempt (): Promise<void> {
    if (closing) return
    try {
      const conn = await connect({ ...target, name: opts.name, maxReconnectAttempts: -1, reconnectTimeWait: 500, reconnectJitter: 100 })
      if (closing) { await conn.close(); return }
      nc = conn
      warned = false
      opts.log.info({ server: conn.getServer() }, 'connected to NATS')
      watch(conn).catch(() => {})
      conn.closed().then(() => {
        up = false
        if (nc === conn) nc = undefined
        // only a fatal server answer (e.g. authorization) closes a reconnect-forever
        // client: start over rather than stay disconnected
        if (!closing) schedule()
      }, () => {})
      becameConnected(conn)
    } catch (err) {
      if (!warned) opts.log.warn({ reason: (err as Error).message }, 'NATS is unavailable; retrying')
      warned = true
      schedule()
    }
  }

  function schedule (): void {
    if (closing) return
    timer = setTimeout(() => { attempt().catch(() => {}) }, retryMs)
    timer.unref()
  }

  attempt().catch(() => {})

  return {
    connected: () => up,
    whenConnected: async () => {
      if (closing) return undefined
      if (up && nc !== undefined) return nc
      return await new Promise((resolve) => { waiters.push(resolve) })
    },
    onConnect: (fn) => {
      listeners.push(fn)
      // the link is made by its plugin, before whoever listens: a connection made
      // in between is not missed
      if (up && nc !== undefined) notify(fn, nc)
    },
    async close () {
      closing = true
      const wasUp = up
      up = false
      if (timer !== undefined) clearTimeout(timer)
      for (const w of waiters.splice(0)) w(undefined)
      waiters = []
      const conn = nc
      nc = undefined
      // drain lets acks and in-flight publishes finish; a disconnected client has
      // nothing to drain and would only wait for a server that may never return
      await drainNats(conn, undefined, wasUp)
    }
  }
}

export type NatsPluginOptions = Omit<NatsLinkOptions, 'log'>

/**
 * Creates the service's NATS link (see createNatsLink: the service starts without NATS),
 * decorates the app with it as `nats`, and drains it with the app. Registered before
 * what consumes from it, so their onClose hooks (run in reverse order) stop first.
 * Each service types the decorator in its own plugins/nats.ts.
 */
async function natsPlugin (app: FastifyInstance, opts: NatsPluginOptions) {
  const link = createNatsLink({ ...opts, log: app.log })
  app.decorate('nats', link)
  app.addHook('onClose', async () => { await link.close() })
}

export const natsClient = fp(natsPlugin, { name: 'nats', fastify: '5.x' })
