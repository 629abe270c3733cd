import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { AuthConfig } from '@ratchet/shared'
import { createKeyManager, type KeyManager } from '../keys/manager.js'
import { startKeyRotation } from '../keys/rotate.js'

declare module 'fastify' {
  interface FastifyInstance { signingKeys: KeyManager }
}

export interface KeysPluginOptions {
  config: AuthConfig
  /** ms since the epoch; tests inject a clock to move key time */
  now: () => number
}

/**
 * `app.signingKeys`: the signing keys (the key file, or the set shared through Redis), loaded
 * before the app is built (without them the service cannot sign), reloaded on an
 * interval, and rotated when due. Both timers stop with the app.
 */
async function keysPlugin (app: FastifyInstance, { config, now }: KeysPluginOptions) {
  const keys = await createKeyManager(config, app.redis, app.log, now)
  const rotation = startKeyRotation(config, app.redis, keys.reload, app.log, now)
  app.decorate('signingKeys', keys)
  app.addHook('onClose', async () => {
    rotation.stop()
    keys.close()
  })
}

export default fp(keysPlugin, { name: 'keys', fastify: '5.x', dependencies: ['redis'] })
