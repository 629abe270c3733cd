import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { errors, redisKeys } from '@ratchet/shared'

export interface UserRecord { id: string, email: string, hash: string }
export interface Account { id: string, email: string, /** ms */ createdAt: number }

// The address key is the login index and holds the hash, so a login is one
// read. Claiming it is atomic: of two racing sign-ups, one gets 0.
const claimEmail = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'hash', ARGV[2], 'created_at', ARGV[3])
return 1`

// Frees the address only while it still names this user: a replayed deletion
// must not take the address from someone who signed up with it since.
const releaseEmail = `
if redis.call('HGET', KEYS[1], 'uid') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/** Trim and lower-case, so one mailbox is one account. */
/**
 * NFKC, trimmed and lower-cased, so one mailbox is one account. The length
 * limit (RFC 5321: 254) is enforced again after NFKC, which can expand one
 * character into many (U+FDFA into 18).
 */
export function normaliseEmail (email: string): string {
  const address = email.normalize('NFKC').trim().toLowerCase()
  if (address.length > 254) throw new errors.RATCHET_INVALID_EMAIL('must NOT have more than 254 characters after NFKC normalisation')
  if (!/^[^\s@]+@[^\s@]+$/.test(address)) throw new errors.RATCHET_INVALID_EMAIL('is not an address after NFKC normalisation')
  return address
}

export function createUserStore (redis: Redis) {
  redis.defineCommand('ratchetClaimEmail', { numberOfKeys: 1, lua: claimEmail })
  redis.defineCommand('ratchetReleaseEmail', { numberOfKeys: 1, lua: releaseEmail })
  const r = redis as unknown as Redis & {
    ratchetClaimEmail: (key: string, uid: string, hash: string, at: number) => Promise<number>
    ratchetReleaseEmail: (key: string, uid: string) => Promise<number>
  }

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

    async findById (uid: string): Promise<Account | undefined> {
      const [email, createdAt] = await redis.hmget(redisKeys.user(uid), 'email', 'created_at')
      if (email == null) return undefined
      return { id: uid, email, createdAt: Number(createdAt) }
    },

    async updateHash (email: string, hash: string): Promise<void> {
      await redis.hset(redisKeys.email(email), 'hash', hash)
    },

    /**
     * Removes the account and frees its address; idempotent, so a deletion
     * interrupted half-way (or replayed from the event stream) completes.
     * Two keys in two hash slots: the user record goes last, so a retry still finds the address.
     */
    async remove (uid: string): Promise<void> {
      const email = await redis.hget(redisKeys.user(uid), 'email')
      if (email === null) return
      await r.ratchetReleaseEmail(redisKeys.email(email), uid)
      await redis.del(redisKeys.user(uid))
    }
  }
}

export type UserStore = ReturnType<typeof createUserStore>
