import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createDeletionConsumer } from '../accounts/deletions.js'
import { createNotesStore } from '../stores/notes.js'

export interface DeletionsPluginOptions { stream: string, prefix: string }

/** Deleted accounts: their notes go when `user.deleted` arrives. */
async function deletionsPlugin (app: FastifyInstance, opts: DeletionsPluginOptions) {
  const notes = createNotesStore(app.redis)
  const consumer = createDeletionConsumer({
    connection: () => app.nats.whenConnected(),
    stream: opts.stream,
    prefix: opts.prefix,
    forget: notes.removeAll,
    log: app.log
  })
  app.addHook('onReady', async () => { consumer.start() })
  app.addHook('onClose', async () => { await consumer.stop() })
}

export default fp(deletionsPlugin, { name: 'account-deletions', fastify: '5.x', dependencies: ['nats', 'redis'] })
