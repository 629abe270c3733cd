import type { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'
import * as scripts from './session-scripts.js'

export interface SessionState {
  sub: string
  clientId: string
  scope: string
  /** ms: when the session started (login) */
  authTime: number
  /** current refresh token */
  jti: string
  iat: number
  exp: number
}

export type RotateResult =
  | ({ status: 'rotated' | 'grace' } & SessionState)
  | { status: 'missing' | 'mismatch' }

export interface SessionInfo {
  sid: string
  client_id: string
  scope: string
  /** NumericDate (ms precision): the login */
  created_at: number
  /** NumericDate (ms precision): the last refresh, or the login when there was none */
  last_used_at: number
  expires_at: number
  max_expires_at: number
  /** as seen at login; null when the client sent none */
  user_agent: string | null
  ip: string | null
}

/** What a session records about the device that logged in (display only, never trusted). */
export interface DeviceInfo { userAgent?: string | undefined, ip?: string | undefined }

interface SessionCommands {
  ratchetCreateSession: (k1: string, k2: string, ...argv: Array<string | number>) => Promise<[number, number]>
  ratchetRotateSession: (k1: string, k2: string, ...argv: Array<string | number>) => Promise<Array<string | number>>
  ratchetRevokeSession: (k1: string, k2: string, sid: string) => Promise<number>
  ratchetRevokeUserSessions: (k1: string, sessionPrefix: string, before: number) => Promise<number>
}

/** Session storage: Redis keys and atomic scripts, no policy. */
export function createSessionStore (redis: Redis, prefix: string) {
  redis.defineCommand('ratchetCreateSession', { numberOfKeys: 2, lua: scripts.createSession })
  redis.defineCommand('ratchetRotateSession', { numberOfKeys: 2, lua: scripts.rotateSession })
  redis.defineCommand('ratchetRevokeSession', { numberOfKeys: 2, lua: scripts.revokeSession })
  redis.defineCommand('ratchetRevokeUserSessions', { numberOfKeys: 1, lua: scripts.revokeUserSessions })
  const r = redis as unknown as Redis & SessionCommands

  return {
    async create (s: { sub: string, sid: string, jti: string, clientId: string, scope: string, now: number, idleMs: number, maxMs: number, device?: DeviceInfo }): Promise<{ iat: number, exp: number }> {
      const [iat, exp] = await r.ratchetCreateSession(redisKeys.session(s.sub, s.sid), redisKeys.sessions(s.sub),
        s.sid, s.jti, s.now, s.idleMs, s.maxMs, s.sub, s.clientId, s.scope, s.device?.userAgent ?? '', s.device?.ip ?? '')
      return { iat, exp }
    },

    async rotate (a: { sub: string, sid: string, presentedJti: string, newJti: string, now: number, idleMs: number, graceMs: number }): Promise<RotateResult> {
      const res = await r.ratchetRotateSession(redisKeys.session(a.sub, a.sid), redisKeys.sessions(a.sub),
        a.sid, a.presentedJti, a.newJti, a.now, a.idleMs, a.graceMs)
      const status = res[0]
      if (status !== 'rotated' && status !== 'grace') return { status: status === 'missing' ? 'missing' : 'mismatch' }
      return {
        status,
        jti: String(res[1]),
        iat: Number(res[2]),
        exp: Number(res[3]),
        sub: String(res[4]),
        clientId: String(res[5]),
        scope: String(res[6]),
        authTime: Number(res[7])
      }
    },

    async revoke (sub: string, sid: string): Promise<boolean> {
      return (await r.ratchetRevokeSession(redisKeys.session(sub, sid), redisKeys.sessions(sub), sid)) === 1
    },

    /** Ends every session of `sub` that started strictly before `beforeMs`. */
    async revokeUser (sub: string, beforeMs: number): Promise<number> {
      const sessionPrefix = prefix + redisKeys.session(sub, '')
      return await r.ratchetRevokeUserSessions(redisKeys.sessions(sub), sessionPrefix, beforeMs)
    },

    async get (sub: string, sid: string): Promise<SessionState | undefined> {
      const h = await redis.hgetall(redisKeys.session(sub, sid))
      if (h.cur === undefined) return undefined
      return { sub: h.sub ?? sub, clientId: h.cid ?? '', scope: h.scp ?? '', authTime: Number(h.at), jti: h.cur, iat: Number(h.ci), exp: Number(h.ce) }
    },

    async list (sub: string, now: number): Promise<SessionInfo[]> {
      const sids = await redis.zrangebyscore(redisKeys.sessions(sub), now, '+inf')
      if (sids.length === 0) return []
      const pipe = redis.pipeline()
      for (const sid of sids) pipe.hmget(redisKeys.session(sub, sid), 'cid', 'scp', 'at', 'mx', 'ce', 'rt', 'ua', 'ip')
      const rows = (await pipe.exec()) ?? []
      const out: SessionInfo[] = []
      sids.forEach((sid, i) => {
        const [err, v] = rows[i] ?? [null, null]
        const f = v as Array<string | null> | null
        if (err !== null || f === null || f[2] === null) return
        out.push({
          sid,
          client_id: f[0] ?? '',
          scope: f[1] ?? '',
          created_at: Number(f[2]) / 1000,
          last_used_at: Number(f[5] ?? f[2]) / 1000,
          expires_at: Number(f[4]),
          max_expires_at: Math.floor(Number(f[3]) / 1000),
          user_agent: f[6] ?? null,
          ip: f[7] ?? null
        })
      })
      return out
    }
  }
}

export type SessionStore = ReturnType<typeof createSessionStore>
