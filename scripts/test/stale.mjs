// Leftovers of test runs that were killed before their teardown: TEST_* streams on
// NATS and test:<id>: key prefixes in Redis, removed by age at the next run's start.
// Age, not ownership: other runs may share the machine's servers, and a run's own
// streams and keys are far younger than this.
import { Redis } from 'ioredis'
import { connect } from 'nats'

export const STALE_AFTER_MS = 60 * 60 * 1000

/** Deletes TEST_* streams created more than `ageMs` ago; returns how many. */
export async function dropStaleStreams (natsUrl, ageMs = STALE_AFTER_MS, now = Date.now()) {
  const servers = natsUrl.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const nc = await connect({ servers, timeout: 2000, maxReconnectAttempts: 0 })
  let dropped = 0
  try {
    const jsm = await nc.jetstreamManager()
    for await (const info of jsm.streams.list()) {
      const name = info.config.name
      if (!name.startsWith('TEST_') || now - Date.parse(info.created) < ageMs) continue
      if (await jsm.streams.delete(name).catch(() => false)) dropped++
    }
  } finally {
    await nc.close()
  }
  return dropped
}

/** A test key's prefix (`test:<id>:`), as the test helpers make them. */
const PREFIX = /^test:[^:]+:/

/**
 * Deletes the keys of every test:<id>: prefix none of whose keys was touched in the
 * last `ageMs` (Redis keeps no creation time; OBJECT IDLETIME is the time since a key
 * was last read or written). Returns how many prefixes were dropped.
 */
export async function dropStalePrefixes (redisUrl, ageMs = STALE_AFTER_MS) {
  const redis = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: 10000 })
  redis.on('error', () => {}) // a failed command says it
  await redis.connect()
  try {
    const keysOf = new Map()
    const fresh = new Set()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'test:*', 'COUNT', 1000)
      cursor = next
      const idle = await Promise.all(keys.map((k) => redis.object('IDLETIME', k).catch(() => 0)))
      keys.forEach((key, i) => {
        const prefix = PREFIX.exec(key)?.[0]
        if (prefix === undefined) return
        if (Number(idle[i]) * 1000 < ageMs) fresh.add(prefix)
        const list = keysOf.get(prefix) ?? []
        list.push(key)
        keysOf.set(prefix, list)
      })
    } while (cursor !== '0')
    let dropped = 0
    for (const [prefix, keys] of keysOf) {
      if (fresh.has(prefix)) continue
      // one key per call: keys of a prefix may sit in different slots of a cluster
      for (const key of keys) await redis.unlink(key)
      dropped++
    }
    return dropped
  } finally {
    redis.disconnect()
  }
}
