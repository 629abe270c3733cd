/**
 * Lua scripts over one user's keys: KEYS[1] = session:{uid}:sid,
 * KEYS[2] = sessions:{uid}. Both share the {uid} hash tag, so each script
 * touches one Redis Cluster slot. The scripts only compare and swap; what a
 * mismatch means is decided in tokens/service.ts.
 */

// ARGV: sid, jti, nowMs, idleMs, maxMs, sub, clientId, scope, userAgent, ip
// (the device fields are display-only and left out when empty, to keep the hash small)
export const createSession = `
local now = tonumber(ARGV[3])
local mx = now + tonumber(ARGV[5])
local exp = math.floor(math.min(now + tonumber(ARGV[4]), mx) / 1000)
local iat = math.floor(now / 1000)
redis.call('HSET', KEYS[1], 'sub', ARGV[6], 'cid', ARGV[7], 'scp', ARGV[8], 'at', now, 'mx', mx,
  'cur', ARGV[2], 'ci', iat, 'ce', exp)
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'ua', ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'ip', ARGV[10]) end
redis.call('PEXPIREAT', KEYS[1], math.min(now + tonumber(ARGV[4]), mx))
redis.call('ZADD', KEYS[2], mx, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('PEXPIRETIME', KEYS[2]) < mx then redis.call('PEXPIREAT', KEYS[2], mx) end
return {iat, exp}`

// ARGV: sid, presentedJti, newJti, nowMs, idleMs, graceMs
// -> {'rotated'|'grace', jti, iat, exp, sub, cid, scp, at} | {'missing'} | {'mismatch'}
export const rotateSession = `
local s = redis.call('HMGET', KEYS[1], 'cur', 'prv', 'rt', 'mx', 'ci', 'ce', 'sub', 'cid', 'scp', 'at')
if not s[1] then return {'missing'} end
local now = tonumber(ARGV[4])
local mx = tonumber(s[4])
if now >= mx then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'missing'}
end
if s[1] == ARGV[2] then
  local until_ms = math.min(now + tonumber(ARGV[5]), mx)
  local iat = math.floor(now / 1000)
  local exp = math.floor(until_ms / 1000)
  redis.call('HSET', KEYS[1], 'prv', s[1], 'rt', now, 'cur', ARGV[3], 'ci', iat, 'ce', exp)
  redis.call('PEXPIREAT', KEYS[1], until_ms)
  return {'rotated', ARGV[3], iat, exp, s[7], s[8], s[9], s[10]}
end
if s[2] == ARGV[2] and now - tonumber(s[3]) <= tonumber(ARGV[6]) then
  return {'grace', s[1], tonumber(s[5]), tonumber(s[6]), s[7], s[8], s[9], s[10]}
end
return {'mismatch'}`

// ARGV: sid -> 1 if a session was removed
export const revokeSession = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])`

// KEYS[1] = sessions:{uid}; ARGV: key prefix of session keys (with the
// ioredis prefix), beforeMs -> number removed. Only sessions that started
// strictly before `before` end, so a login right after logout-all survives.
export const revokeUserSessions = `
local sids = redis.call('ZRANGE', KEYS[1], 0, -1)
local n = 0
for _, sid in ipairs(sids) do
  local key = ARGV[1] .. sid
  local at = redis.call('HGET', key, 'at')
  if not at then
    redis.call('ZREM', KEYS[1], sid)
  elseif tonumber(at) < tonumber(ARGV[2]) then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], sid)
    n = n + 1
  end
end
return n`
