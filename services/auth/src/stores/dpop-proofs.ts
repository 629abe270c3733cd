import type { Redis } from 'ioredis'
import { redisKeys, type ReplayCache } from '@ratchet/shared'

/**
 * The auth service's DPoP replay cache: one SET NX per proof, expiring when the proof
 * would be stale anyway, so every auth instance sees every proof once (RFC 9449 §11.1).
 */
export function createDpopProofStore (redis: Redis): ReplayCache {
  return {
    async remember (key, expiresAtMs, nowMs) {
      const ttl = Math.max(1, Math.ceil(expiresAtMs - nowMs))
      return (await redis.set(redisKeys.dpopProof(key), '1', 'PX', ttl, 'NX')) === 'OK'
    }
  }
}
