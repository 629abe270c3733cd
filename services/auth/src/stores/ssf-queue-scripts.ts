/**
 * Lua over one Shared Signals stream's delivery queue. KEYS: due (sorted set,
 * SET id -> when due, ms), sets (hash, SET id -> claims), born (sorted set, SET
 * id -> when made), health (hash: failures, retry_at); a fifth key where a script
 * needs one more. All share the `{streamId}` hash tag: one Redis Cluster slot.
 * The scripts only move entries; when to retry is decided in signals/.
 */

// KEYS[5] = seen marker; ARGV: id, claims, bornMs, seenTtlSeconds -> 1 queued, 0 already queued once
export const enqueue = `
if redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[4]) == false then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1`

// ARGV: nowMs, leaseUntilMs, limit -> {nextDueMs | -1, retryAtMs, id1, claims1, id2, claims2, ...}
// Claimed entries are leased: their due time moves to the lease's end, so another
// instance takes them only if this one dies mid-delivery. While the receiver is
// failing, one entry at a time probes it and the rest wait for the probe's outcome.
export const claim = `
local now = tonumber(ARGV[1])
local retryAt = tonumber(redis.call('HGET', KEYS[4], 'retry_at') or '0')
local out = {-1, retryAt}
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then out[1] = tonumber(first[2]) end
if retryAt > now then return out end
local failing = tonumber(redis.call('HGET', KEYS[4], 'failures') or '0') > 0
local limit = tonumber(ARGV[3])
if failing then limit = 1 end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(ids) do
  local claims = redis.call('HGET', KEYS[2], id)
  if claims then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    out[#out + 1] = id
    out[#out + 1] = claims
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[3], id)
  end
end
if failing and #out > 2 then redis.call('HSET', KEYS[4], 'retry_at', ARGV[2]) end
return out`

// ARGV: id, resetHealth (1: the receiver answered) -> 1 if the entry was still queued
export const settle = `
local had = redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if ARGV[2] == '1' then redis.call('HSET', KEYS[4], 'failures', 0, 'retry_at', 0) end
return had`

// ARGV: id, nowMs, baseMs, capMs, jitter (0.5..1), attemptStartedMs -> when the stream is tried again (ms)
// Exponential back-off for the receiver as a whole (not each SET): a receiver that
// is down gets one probe per interval, however long its backlog. Attempts that were
// already under way when a failure was counted do not count again.
export const retry = `
local now = tonumber(ARGV[2])
local at = tonumber(redis.call('HGET', KEYS[4], 'retry_at') or '0')
if tonumber(ARGV[6]) >= tonumber(redis.call('HGET', KEYS[4], 'failed_at') or '0') or at <= now then
  local f = redis.call('HINCRBY', KEYS[4], 'failures', 1)
  local delay = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ math.min(f - 1, 30))
  at = now + math.floor(delay * tonumber(ARGV[5]))
  redis.call('HSET', KEYS[4], 'retry_at', at, 'failed_at', now)
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then redis.call('ZADD', KEYS[1], at, ARGV[1]) end
return at`

// ARGV: ids... -> makes leased entries due now (a closing instance hands them back)
export const release = `
for i = 1, #ARGV do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then redis.call('ZADD', KEYS[1], 0, ARGV[i]) end
end
return #ARGV`
