import type { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'

export interface BackoffPolicy {
  /** failures allowed before any wait */
  free: number
  /** cap on one wait (ms): an attacker can never lock a real user out for longer at a time */
  maxMs: number
  /** failures are forgotten this long after the last one (ms) */
  ttlMs: number
}

// One hash per account: n = failures, last = when the last one happened (ms).
// The TTL restarts on each failure, so an account nobody attacks forgets them.
const recordFailure = `
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n`

/**
 * Per-account failed-login counter: after `free` failures each further attempt
 * must wait 1 s, 2 s, 4 s, ... capped at `maxMs`. Unknown e-mails are counted
 * the same way, so the answer never tells whether an account exists.
 */
export function createLoginBackoff (redis: Redis, policy: BackoffPolicy) {
  /** The wait after `n` failures, in ms. */
  const waitAfter = (n: number) => n < policy.free ? 0 : Math.min(1000 * 2 ** (n - policy.free), policy.maxMs)

  return {
    waitAfter,
    /** ms the caller must still wait before trying this account again (0: go ahead). */
    async remaining (email: string, now: number): Promise<number> {
      const [n, last] = await redis.hmget(redisKeys.loginFailures(email), 'n', 'last')
      if (n === null || last === null) return 0
      return Math.max(0, Number(last) + waitAfter(Number(n)) - now)
    },
    async failed (email: string, now: number): Promise<number> {
      return Number(await redis.eval(recordFailure, 1, redisKeys.loginFailures(email), now, policy.ttlMs))
    },
    /** A correct password clears the slate: the real user is not slowed by an attacker's misses. */
    async succeeded (email: string): Promise<void> {
      await redis.del(redisKeys.loginFailures(email))
    }
  }
}

export type LoginBackoff = ReturnType<typeof createLoginBackoff>
