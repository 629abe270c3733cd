import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { redisKeys, type RatchetEvent, type SessionRevoked, type UserDeleted, type UserRevoked } from '@ratchet/shared'

/**
 * The outbox: an event is written to a Redis stream before the revocation it
 * announces takes effect, and a relay publishes it to NATS. A logout that
 * returned is therefore always broadcast, even if NATS is down right now.
 */
export function createOutbox (redis: Redis) {
  const key = redisKeys.outbox()
  async function append (event: RatchetEvent): Promise<void> {
    await redis.xadd(key, '*', 'type', event.type, 'data', JSON.stringify(event.data))
  }
  return {
    key,
    async sessionRevoked (e: Omit<SessionRevoked, 'id'>): Promise<SessionRevoked> {
      const data = { id: randomUUID(), ...e }
      await append({ type: 'session.revoked', data })
      return data
    },
    async userRevoked (e: Omit<UserRevoked, 'id'>): Promise<UserRevoked> {
      const data = { id: randomUUID(), ...e }
      await append({ type: 'user.revoked', data })
      return data
    },
    async userDeleted (e: Omit<UserDeleted, 'id'>): Promise<UserDeleted> {
      const data = { id: randomUUID(), ...e }
      await append({ type: 'user.deleted', data })
      return data
    }
  }
}

export type Outbox = ReturnType<typeof createOutbox>
