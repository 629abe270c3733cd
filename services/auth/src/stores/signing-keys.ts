import type { Redis } from 'ioredis'
import { redisKeys, type AccessTokenAlg } from '@ratchet/shared'
import { generateAccessKey, generateRefreshKey, parseKeySet, type KeySet } from '../keys/jwk.js'
import { activeAccessKey } from '../keys/ring.js'

// Replaces the stored set only if nobody changed it since we read it, so two
// instances starting at once end up signing with the same key.
const compareAndSet = `
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`

/**
 * Loads the key set shared through Redis, creating it (or adding a key for
 * `alg`) when missing. Returns the set and whether this call generated keys.
 */
export async function loadSharedKeySet (redis: Redis, alg: AccessTokenAlg, now: number, mutate?: (set: KeySet) => KeySet | undefined): Promise<{ set: KeySet, generated: boolean }> {
  const key = redisKeys.signingKeys()
  for (let attempt = 0; attempt < 10; attempt++) {
    const raw = await redis.get(key)
    let set: KeySet = raw === null ? { access: [], refresh: [] } : parseKeySet(raw, 'Redis key set')
    let changed = false
    if (activeAccessKey(set, alg, now) === undefined) { set.access.push(generateAccessKey(alg, now)); changed = true }
    if (set.refresh.length === 0) { set.refresh.push(generateRefreshKey(now)); changed = true }
    const mutated = mutate?.(set)
    if (mutated !== undefined) { set = mutated; changed = true }
    if (!changed) return { set, generated: false }
    const ok = await redis.eval(compareAndSet, 1, key, raw ?? '', JSON.stringify(set))
    if (ok === 1) return { set, generated: true }
  }
  throw new Error('could not store the signing key set: too much contention')
}

export async function readSharedKeySet (redis: Redis): Promise<KeySet | undefined> {
  const raw = await redis.get(redisKeys.signingKeys())
  return raw === null ? undefined : parseKeySet(raw, 'Redis key set')
}
