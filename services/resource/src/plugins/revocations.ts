import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { RevocationList } from '../revocations/list.js'
import { RevocationFollower } from '../revocations/follower.js'

declare module 'fastify' {
  interface FastifyInstance {
    revocations: RevocationList
    revocationFollower: RevocationFollower
  }
}

export interface RevocationsPluginOptions {
  stream: string
  prefix: string
  /** ACCESS_TOKEN_TTL + CLOCK_LEEWAY, seconds */
  retainSeconds: number
  /** CLOCK_LEEWAY, seconds: bounds an event's `before` and `at` (see clampEventTimes) */
  leewaySeconds: number
  sweepInterval?: number
  retryInterval?: number
}

/** The in-memory revocation list, fed from the event stream (replay, then live). */
async function revocationsPlugin (app: FastifyInstance, opts: RevocationsPluginOptions) {
  const list = new RevocationList({ retainSeconds: opts.retainSeconds })
  const follower = new RevocationFollower({
    connection: () => app.nats.whenConnected(),
    stream: opts.stream,
    prefix: opts.prefix,
    replaySeconds: opts.retainSeconds,
    list,
    log: app.log,
    leewaySeconds: opts.leewaySeconds,
    ...(opts.retryInterval !== undefined ? { retryInterval: opts.retryInterval } : {})
  })
  app.decorate('revocations', list)
  app.decorate('revocationFollower', follower)
  const sweeper = setInterval(() => list.sweep(), opts.sweepInterval ?? 10_000)
  sweeper.unref()
  app.addHook('onReady', async () => { follower.start() })
  app.addHook('onClose', async () => {
    clearInterval(sweeper)
    await follower.stop()
  })
}

export default fp(revocationsPlugin, { name: 'revocations', fastify: '5.x', dependencies: ['nats'] })
