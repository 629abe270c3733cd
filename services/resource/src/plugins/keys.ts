import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { KeyStore, type KeyStoreOptions } from '../keys/store.js'

declare module 'fastify' {
  interface FastifyInstance { keys: KeyStore }
}

export type KeysPluginOptions = Omit<KeyStoreOptions, 'log'>

/** The JWKS key store; starts fetching at boot and never blocks it (the auth service may be down). */
async function keysPlugin (app: FastifyInstance, opts: KeysPluginOptions) {
  const keys = new KeyStore({ ...opts, log: app.log })
  app.decorate('keys', keys)
  app.addHook('onReady', async () => { keys.start() })
  app.addHook('onClose', async () => { keys.stop() })
}

export default fp(keysPlugin, { name: 'keys', fastify: '5.x' })
