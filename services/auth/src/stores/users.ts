import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'

export interface UserRecord { id: string, email: string, hash: string }

// The address key is the login index and holds the hash, so a login is one
// read. Claiming it is atomic: of two racing sign-ups, one gets 0.
const claimEmail = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'hash', ARGV[2], 'created_at', ARGV[3])
return 1`

/** Trim and lower-case, so one mailbox is one account. */
export function normaliseEmail (email: string): string {
  return email.normalize('NFKC').trim().toLowerCase()
}

export function createUserStore (redis: Redis) {
  redis.defineCommand('ratchetClaimEmail', { numberOfKeys: 1, lua: claimEmail })
  const r = redis as unknown as Redis & { ratchetClaimEmail: (key: string, uid: string, hash: string, at: number) => Promise<number> }

  return {
    /** Creates the user; undefined when the address is taken. */
    async create (email: string, hash: string, now: number): Promise<UserRecord | undefined> {
      const id = randomUUID()
      const ok = await r.ratchetClaimEmail(redisKeys.email(email), id, hash, now)
      if (ok !== 1) return undefined
      await redis.hset(redisKeys.user(id), 'id', id, 'email', email, 'created_at', now)
      return { id, email, hash }
    },

    async findByEmail (email: string): Promise<UserRecord | undefined> {
      const h = await redis.hmget(redisKeys.email(email), 'uid', 'hash')
      const [uid, hash] = h
      if (uid == null || hash == null) return undefined
      return { id: uid, email, hash }
    },

    async updateHash (email: string, hash: string): Promise<void> {
      await redis.hset(redisKeys.email(email), 'hash', hash)
    }
  }
}

export type UserStore = ReturnType<typeof createUserStore>
