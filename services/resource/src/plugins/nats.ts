import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { connect, type NatsConnection } from 'nats'
import { drainNats, natsConnectOptions } from '@ratchet/shared'

/** The NATS connection, which may not exist yet: the service starts without NATS and waits for it. */
export class NatsHandle {
  connection: NatsConnection | null = null
  connected = false
  #waiters: Array<(nc: NatsConnection) => void> = []

  /** Resolves with the connection once there is one. */
  whenConnected (): Promise<NatsConnection> {
    if (this.connection) return Promise.resolve(this.connection)
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  set (nc: NatsConnection): void {
    this.connection = nc
    this.connected = true
    for (const w of this.#waiters.splice(0)) w(nc)
  }
}

declare module 'fastify' {
  interface FastifyInstance { nats: NatsHandle }
}

export interface NatsPluginOptions { url: string, retryInterval?: number }

/**
 * Connects to NATS in the background: retries until the first connection, after which
 * the client reconnects by itself forever. `connected` follows the connection's status.
 */
async function natsPlugin (app: FastifyInstance, opts: NatsPluginOptions) {
  const handle = new NatsHandle()
  let closing = false
  let timer: NodeJS.Timeout | null = null
  let logged = false

  const watchStatus = async (nc: NatsConnection): Promise<void> => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') { handle.connected = false; app.log.warn('NATS disconnected') }
      if (s.type === 'reconnect') { handle.connected = true; app.log.info('NATS reconnected') }
    }
  }

  const attempt = async (): Promise<void> => {
    if (closing) return
    try {
      const nc = await connect({ ...natsConnectOptions(opts.url), name: 'ratchet-resource', maxReconnectAttempts: -1, reconnectTimeWait: 500 })
      if (closing) { await nc.close(); return }
      handle.set(nc)
      app.log.info({ server: nc.getServer() }, 'connected to NATS')
      watchStatus(nc).catch(() => {})
      nc.closed().then(() => { handle.connected = false })
    } catch (err) {
      if (!logged) app.log.warn({ err: (err as Error).message }, 'NATS is unavailable; retrying')
      logged = true
      timer = setTimeout(() => { attempt().catch(() => {}) }, opts.retryInterval ?? 1000)
      timer.unref()
    }
  }
  attempt().catch(() => {})

  app.decorate('nats', handle)
  app.addHook('onClose', async () => {
    closing = true
    if (timer) clearTimeout(timer)
    // a drain while reconnecting would wait for a server that may never return
    await drainNats(handle.connection, undefined, handle.connected)
  })
}

export default fp(natsPlugin, { name: 'nats', fastify: '5.x' })
