import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'
import { decodeJwt } from './api.js'

/**
 * Seeds live sessions in the product's own Redis format by cloning one session the
 * auth service wrote: same hash fields, same TTLs, with a new user id, session id
 * and refresh-token id, so the bench follows the format wherever the store goes.
 */
export interface Template {
  sub: string
  sid: string
  jti: string
  fields: Record<string, string>
  ttlMs: number
  score: string
  indexTtlMs: number
}

export async function readTemplate (redis: Redis, prefix: string, refreshToken: string): Promise<Template> {
  const { payload } = decodeJwt(refreshToken)
  const sub = String(payload.sub)
  const sid = String(payload.sid)
  const key = prefix + redisKeys.session(sub, sid)
  const index = prefix + redisKeys.sessions(sub)
  const fields = await redis.hgetall(key)
  if (Object.keys(fields).length === 0) throw new Error(`no session hash at ${key}: the session format changed`)
  return {
    sub,
    sid,
    jti: String(payload.jti),
    fields,
    ttlMs: await redis.pttl(key),
    score: (await redis.zscore(index, sid)) ?? String(Date.now() + 86_400_000),
    indexTtlMs: await redis.pttl(index)
  }
}

// Writes a batch of sessions inside Redis: one command per 1,000 sessions instead of
// 4,000, so seeding 1M sessions takes seconds, not minutes, on a busy client core.
// Key names arrive as arguments (built by redisKeys), so the format stays in one place.
// ARGV: F, then F (field, value) pairs where a value may be the marker \0sub/\0sid/\0jti,
// ttlMs, score, indexTtlMs, then per session: key, index, sub, sid, jti.
const seedScript = `
local f = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2 * f + 2])
local score = ARGV[2 * f + 3]
local ittl = tonumber(ARGV[2 * f + 4])
local i = 2 * f + 5
local n = 0
while i + 4 <= #ARGV do
  local key, index, sub, sid, jti = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local args = {}
  for j = 0, f - 1 do
    local v = ARGV[3 + 2 * j]
    if v == '\0sub' then v = sub elseif v == '\0sid' then v = sid elseif v == '\0jti' then v = jti end
    args[#args + 1] = ARGV[2 + 2 * j]
    args[#args + 1] = v
  end
  redis.call('HSET', key, unpack(args))
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
  redis.call('ZADD', index, score, sid)
  if ittl > 0 then redis.call('PEXPIRE', index, ittl) end
  i = i + 5
  n = n + 1
end
return n`

export async function seedSessions (redis: Redis, prefix: string, t: Template, count: number): Promise<void> {
  const marker = (v: string): string => v === t.sub ? '\0sub' : v === t.sid ? '\0sid' : v === t.jti ? '\0jti' : v
  const head: string[] = [String(Object.keys(t.fields).length)]
  for (const [f, v] of Object.entries(t.fields)) head.push(f, marker(v))
  head.push(String(t.ttlMs), t.score, String(t.indexTtlMs))
  const batch = 1000
  const inFlight: Array<Promise<unknown>> = []
  for (let done = 0; done < count; done += batch) {
    const args = [...head]
    for (let i = done; i < Math.min(count, done + batch); i++) {
      const sub = randomUUID()
      const sid = randomUUID()
      args.push(prefix + redisKeys.session(sub, sid), prefix + redisKeys.sessions(sub), sub, sid, randomUUID())
    }
    inFlight.push(redis.eval(seedScript, 0, ...args))
    if (inFlight.length >= 4) await inFlight.shift()
  }
  await Promise.all(inFlight)
}
