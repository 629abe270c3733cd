import type { Redis } from 'ioredis'

export interface BackoffPolicy {
  /** failures allowed before any wait */
  free: number
  /** cap on one wait (ms): an attacker can never lock a real user out for longer at a time */
  maxMs: number
  /** failures are forgotten this long after the last one (ms) */
  ttlMs: number
}

// One hash per budget: n = failures, last = when the last attempt was counted (ms).
// The check and the count are one step: an attempt allowed through is counted
// as a failure at once, so of ten parallel guesses fired when a wait ends only
// one reaches the password check. A success deletes the hash; an attempt that
// ended in neither (a 503) gives its count back. The TTL restarts on each
// count, so a budget nobody attacks forgets its failures.
// KEYS[1]; ARGV: nowMs, ttlMs, free, maxMs -> ms still to wait (0: counted, go ahead)
const attempt = `
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[3])
if n >= free then
  local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
  local due = last + math.min(1000 * 2 ^ (n - free), tonumber(ARGV[4]))
  if due > now then return math.ceil(due - now) end
end
redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'last', now)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`

const refund = `
if redis.call('HINCRBY', KEYS[1], 'n', -1) <= 0 then redis.call('DEL', KEYS[1]) end
return 0`

/**
 * Failed-login back-off per budget (an account, or an account on one known
 * device): after `free` failures each further attempt must wait 1 s, 2 s,
 * 4 s, ... capped at `maxMs`. Unknown e-mails are counted the same way, so the
 * answer never tells whether an account exists.
 */
export function createLoginBackoff (redis: Redis, policy: BackoffPolicy) {
  /** The wait after `n` failures, in ms. */
  const waitAfter = (n: number) => n < policy.free ? 0 : Math.min(1000 * 2 ** (n - policy.free), policy.maxMs)

  return {
    waitAfter,
    /** Checks the wait and counts the attempt in one step; ms still to wait (0: counted, go ahead). */
    async attempt (key: string, now: number): Promise<number> {
      return Number(await redis.eval(attempt, 1, key, now, policy.ttlMs, policy.free, policy.maxMs))
    },
    /** The attempt was neither a success nor a failure (the service could not check it). */
    async refund (key: string): Promise<void> {
      await redis.eval(refund, 1, key)
    },
    /** A correct password clears the slate of the budget it was counted in. */
    async succeeded (key: string): Promise<void> {
      await redis.del(key)
    }
  }
}

export type LoginBackoff = ReturnType<typeof createLoginBackoff>
