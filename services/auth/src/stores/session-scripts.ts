/**
 * Lua scripts over one user's keys: KEYS[1] = session:{uid}:sid,
 * KEYS[2] = sessions:{uid} (revokeUserSessions: KEYS[1] = sessions:{uid}). They share the {uid} hash tag, so each script
 * touches one Redis Cluster slot. The scripts only compare and swap; what a
 * mismatch means is decided in tokens/service.ts.
 */

// ARGV: sid, jti, nowMs, idleMs, maxMs, clientId, scope, maxSessions,
// batch, key prefix of session keys (with the ioredis prefix), userAgentId, ip, jkt
// -> {iat, exp, evicted sid...}
// The hash holds nothing it can derive, to stay small (#16's 512 B a session):
// the user is in the key; the current refresh token's iat is its rotation (or
// login) time in seconds, and its exp the key's own expiry in seconds.
// The index is scored by each session's idle expiry, so what has expired sits
// at the low end and the least recently used live session next to it. Each
// call prunes and evicts at most `batch` entries, so one user's index never
// makes this script long; an oversized index shrinks by a batch per login.
// Evicted keys share KEYS[1]'s {uid} hash tag, hence its Cluster slot.
// The device fields are display-only and left out when empty, to keep the hash small.
export const createSession = `
local now = tonumber(ARGV[3])
local batch = tonumber(ARGV[9])
local mx = now + tonumber(ARGV[5])
local until_ms = math.min(now + tonumber(ARGV[4]), mx)
local exp = math.floor(until_ms / 1000)
local iat = math.floor(now / 1000)
redis.call('HSET', KEYS[1], 'cid', ARGV[6], 'scp', ARGV[7], 'at', now, 'mx', mx, 'cur', ARGV[2])
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'uai', ARGV[11]) end
if ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'ip', ARGV[12]) end
if ARGV[13] ~= '' then redis.call('HSET', KEYS[1], 'jkt', ARGV[13]) end
redis.call('PEXPIREAT', KEYS[1], until_ms)
local expired = redis.call('ZCOUNT', KEYS[2], '-inf', now)
if expired > 0 then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, math.min(expired, batch) - 1) end
redis.call('ZADD', KEYS[2], until_ms, ARGV[1])
local out = {iat, exp}
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[8])
if over > 0 then
  local victims = redis.call('ZRANGE', KEYS[2], 0, math.min(over, batch) - 1)
  for _, victim in ipairs(victims) do
    if victim ~= ARGV[1] then
      redis.call('ZREM', KEYS[2], victim)
      if redis.call('DEL', ARGV[10] .. victim) == 1 then out[#out + 1] = victim end
    end
  end
end
if redis.call('PEXPIRETIME', KEYS[2]) < mx then redis.call('PEXPIREAT', KEYS[2], mx) end
return out`

// ARGV: sid, presentedJti, newJti, nowMs, idleMs, graceMs, jkt ('' without a DPoP proof)
// -> {'rotated'|'grace', jti, iat, exp, cid, scp, at, jkt} | {'missing'} | {'mismatch'} | {'key_mismatch'}
// A bound session (jkt) compares the proof's key before anything else, and
// changes nothing when it differs; a Bearer session takes the key of its first
// proof, so its refresh token is bound from then on.
export const rotateSession = `
local s = redis.call('HMGET', KEYS[1], 'cur', 'prv', 'rt', 'mx', 'cid', 'scp', 'at', 'jkt')
if not s[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'missing'}
end
local now = tonumber(ARGV[4])
local mx = tonumber(s[4])
if now >= mx then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'missing'}
end
if s[8] and s[8] ~= ARGV[7] then return {'key_mismatch'} end
if s[1] == ARGV[2] then
  local until_ms = math.min(now + tonumber(ARGV[5]), mx)
  local iat = math.floor(now / 1000)
  local exp = math.floor(until_ms / 1000)
  local jkt = s[8] or ARGV[7]
  redis.call('HSET', KEYS[1], 'prv', s[1], 'rt', now, 'cur', ARGV[3])
  if not s[8] and jkt ~= '' then redis.call('HSET', KEYS[1], 'jkt', jkt) end
  redis.call('PEXPIREAT', KEYS[1], until_ms)
  redis.call('ZADD', KEYS[2], until_ms, ARGV[1])
  return {'rotated', ARGV[3], iat, exp, s[5], s[6], s[7], jkt}
end
if s[2] == ARGV[2] and now - tonumber(s[3]) <= tonumber(ARGV[6]) then
  -- the current token's iat and exp, as the rotation above derived them
  local iat = math.floor(tonumber(s[3]) / 1000)
  local exp = math.floor(redis.call('PEXPIRETIME', KEYS[1]) / 1000)
  return {'grace', s[1], iat, exp, s[5], s[6], s[7], s[8] or ''}
end
return {'mismatch'}`

// ARGV: sid -> 1 if a session was removed
export const revokeSession = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])`

// One bounded batch of logout-all: KEYS[1] = sessions:{uid}, KEYS[2..] the
// session keys of ARGV[2..] (sids, from a ZSCAN of the index); ARGV[1] =
// beforeMs -> number removed. Only sessions that started strictly before
// `before` end, so a login right after logout-all survives.
export const revokeUserSessionBatch = `
local before = tonumber(ARGV[1])
local n = 0
for i = 2, #KEYS do
  local sid = ARGV[i]
  local at = redis.call('HGET', KEYS[i], 'at')
  if not at then
    redis.call('ZREM', KEYS[1], sid)
  elseif tonumber(at) < before then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], sid)
    n = n + 1
  end
end
return n`
