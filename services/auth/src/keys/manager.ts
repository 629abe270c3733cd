import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { AuthConfig } from '@ratchet/shared'
import { createKeyRing, type KeyRing } from './ring.js'
import { readKeyFile } from './key-file.js'
import { loadSharedKeySet } from '../stores/signing-keys.js'
import type { KeySet } from './jwk.js'
import { retentionMs } from './rotate.js'

/**
 * Holds the current key ring and keeps it in step with its source: the key
 * file, or the set shared through Redis (where another instance or
 * `npm run keys:rotate` may have added a key).
 */
export async function createKeyManager (config: AuthConfig, redis: Redis, log: FastifyBaseLogger, now: () => number) {
  const retainMs = retentionMs(config)
  const fromFile = config.SIGNING_KEYS_FILE !== ''

  async function load (): Promise<KeySet> {
    if (fromFile) return await readKeyFile(config.SIGNING_KEYS_FILE)
    const { set, generated } = await loadSharedKeySet(redis, config.ACCESS_TOKEN_ALG, now())
    if (generated) {
      log.warn('generated signing keys and stored them in Redis; set SIGNING_KEYS_FILE to manage keys yourself')
    }
    return set
  }

  let ring: KeyRing = createKeyRing(await load(), config.ACCESS_TOKEN_ALG, now(), retainMs)

  async function reload (): Promise<void> {
    ring = createKeyRing(await load(), config.ACCESS_TOKEN_ALG, now(), retainMs)
  }

  const timer = setInterval(() => {
    reload().catch((err: Error) => { log.warn({ reason: err.message }, 'could not reload signing keys; keeping the current ones') })
  }, config.KEY_RELOAD_INTERVAL * 1000)
  timer.unref()

  return {
    ring: () => ring,
    reload,
    close: () => { clearInterval(timer) }
  }
}

export type KeyManager = Awaited<ReturnType<typeof createKeyManager>>
