import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'
import { decodeJwt } from './api.js'

/**
 * Seeds live sessions in the product's own Redis format by cloning one session the
 * auth service wrote: same hash fields, same TTLs, with a new user id, session id
 * and refresh-token id, so the bench follows the format wherever the store goes.
 * Pipelined writes: about 4 commands per session.
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

export async function seedSessions (redis: Redis, prefix: string, t: Template, count: number, onProgress?: (done: number) => void): Promise<void> {
  const batch = 5000
  for (let done = 0; done < count; done += batch) {
    const pipe = redis.pipeline()
    for (let i = done; i < Math.min(count, done + batch); i++) {
      const sub = randomUUID()
      const sid = randomUUID()
      const jti = randomUUID()
      const swap = (v: string): string => v === t.sub ? sub : v === t.sid ? sid : v === t.jti ? jti : v
      const args: string[] = []
      for (const [f, v] of Object.entries(t.fields)) args.push(f, swap(v))
      const key = prefix + redisKeys.session(sub, sid)
      const index = prefix + redisKeys.sessions(sub)
      pipe.hset(key, ...args)
      if (t.ttlMs > 0) pipe.pexpire(key, t.ttlMs)
      pipe.zadd(index, t.score, sid)
      if (t.indexTtlMs > 0) pipe.pexpire(index, t.indexTtlMs)
    }
    await pipe.exec()
    onProgress?.(Math.min(count, done + batch))
  }
}
