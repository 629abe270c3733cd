import { createHash } from 'node:crypto'
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
  /** the DPoP key the session is bound to; undefined for a Bearer session */
  jkt?: string | undefined
}

export type RotateResult =
  | ({ status: 'rotated' | 'grace' } & SessionState)
  | { status: 'missing' | 'mismatch' }
  /** the session is DPoP-bound and the request proved another key, or none: nothing changed */
  | { status: 'key_mismatch' }

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

/**
 * A user agent is kept once, under an id of its own, and a session holds only
 * the id: every value of a hash must stay within Redis' listpack limit
 * (hash-max-listpack-value, 64 B), or the whole session record turns into a
 * hashtable of about 1 KB; and most sessions share a handful of user agents.
 */
const userAgentId = (ua: string) => createHash('sha256').update(ua).digest('base64url').slice(0, 16)

/** What a session records about the device that logged in (display only, never trusted). */
export interface DeviceInfo {
  userAgent?: string | undefined
  ip?: string | undefined
  /** the DPoP key the device proved at sign-in (RFC 7638 thumbprint): the session is bound to it for good */
  jkt?: string | undefined
}

/**
 * How much one script or one read may touch: an index scan step, a logout-all
 * batch, the pruning and eviction of one login. Keeps every call in
 * milliseconds whatever one user holds (SLOWLOG figures in docs/security.md).
 */
export const SESSION_BATCH = 200

interface SessionCommands {
  ratchetCreateSession: (k1: string, k2: string, ...argv: Array<string | number>) => Promise<Array<string | number>>
  ratchetRotateSession: (k1: string, k2: string, ...argv: Array<string | number>) => Promise<Array<string | number>>
  ratchetRevokeSession: (k1: string, k2: string, sid: string) => Promise<number>
  ratchetRevokeUserSessionBatch: (numKeys: number, ...keysAndArgv: Array<string | number>) => Promise<number>
}

/** Session storage: Redis keys and atomic scripts, no policy. */
export function createSessionStore (redis: Redis, prefix: string) {
  redis.defineCommand('ratchetCreateSession', { numberOfKeys: 2, lua: scripts.createSession })
  redis.defineCommand('ratchetRotateSession', { numberOfKeys: 2, lua: scripts.rotateSession })
  redis.defineCommand('ratchetRevokeSession', { numberOfKeys: 2, lua: scripts.revokeSession })
  // the number of keys varies with the batch, so it is the first argument
  redis.defineCommand('ratchetRevokeUserSessionBatch', { lua: scripts.revokeUserSessionBatch })
  const r = redis as unknown as Redis & SessionCommands

  return {
    /**
     * Records a new session; past `maxSessions` the least recently used ones
     * end (at most a batch per call), and their sids are returned as `evicted`.
     */
    async create (s: { sub: string, sid: string, jti: string, clientId: string, scope: string, now: number, idleMs: number, maxMs: number, maxSessions: number, device?: DeviceInfo }): Promise<{ iat: number, exp: number, evicted: string[] }> {
      const ua = s.device?.userAgent ?? ''
      const uaId = ua === '' ? '' : userAgentId(ua)
      // outside the script: another key, another Cluster slot; display-only, so a
      // user agent that failed to be written shows as unknown, nothing worse
      if (ua !== '') await redis.set(redisKeys.userAgent(uaId), ua, 'PX', s.maxMs)
      const [iat, exp, ...evicted] = await r.ratchetCreateSession(redisKeys.session(s.sub, s.sid), redisKeys.sessions(s.sub),
        s.sid, s.jti, s.now, s.idleMs, s.maxMs, s.clientId, s.scope, s.maxSessions, SESSION_BATCH, prefix + redisKeys.session(s.sub, ''),
        uaId, s.device?.ip ?? '', s.device?.jkt ?? '')
      return { iat: Number(iat), exp: Number(exp), evicted: evicted.map(String) }
    },

    /** `jkt`: the key the request's DPoP proof was signed with, if any; a Bearer session is bound to it from then on. */
    async rotate (a: { sub: string, sid: string, presentedJti: string, newJti: string, now: number, idleMs: number, graceMs: number, jkt?: string | undefined }): Promise<RotateResult> {
      const res = await r.ratchetRotateSession(redisKeys.session(a.sub, a.sid), redisKeys.sessions(a.sub),
        a.sid, a.presentedJti, a.newJti, a.now, a.idleMs, a.graceMs, a.jkt ?? '')
      const status = res[0]
      if (status === 'key_mismatch') return { status }
      if (status !== 'rotated' && status !== 'grace') return { status: status === 'missing' ? 'missing' : 'mismatch' }
      return {
        status,
        jti: String(res[1]),
        iat: Number(res[2]),
        exp: Number(res[3]),
        sub: a.sub,
        clientId: String(res[4]),
        scope: String(res[5]),
        authTime: Number(res[6]),
        jkt: res[7] === undefined || res[7] === '' ? undefined : String(res[7])
      }
    },

    async revoke (sub: string, sid: string): Promise<boolean> {
      return (await r.ratchetRevokeSession(redisKeys.session(sub, sid), redisKeys.sessions(sub), sid)) === 1
    },

    /**
     * Ends every session of `sub` that started strictly before `beforeMs`, a
     * bounded batch per script so Redis keeps answering everyone else. ZSCAN
     * returns every entry present for the whole walk, so no older session is
     * missed; sessions started meanwhile are newer than `beforeMs` and stay.
     */
    async revokeUser (sub: string, beforeMs: number): Promise<number> {
      const index = redisKeys.sessions(sub)
      let cursor = '0'
      let removed = 0
      do {
        const [next, flat] = await redis.zscan(index, cursor, 'COUNT', SESSION_BATCH)
        cursor = next
        const sids = flat.filter((_, i) => i % 2 === 0)
        if (sids.length > 0) {
          removed += await r.ratchetRevokeUserSessionBatch(1 + sids.length, index, ...sids.map((sid) => redisKeys.session(sub, sid)), beforeMs, ...sids)
        }
      } while (cursor !== '0')
      return removed
    },

    /** Whether the session still lives (its key expires with it). */
    async exists (sub: string, sid: string): Promise<boolean> {
      return (await redis.exists(redisKeys.session(sub, sid))) === 1
    },

    /**
     * The session, if a rotation to `newJti` committed. Asked after a rotate
     * whose answer was lost (a timeout, a cut connection): the read queues
     * behind the script on the same connection, so it sees the script's
     * effect if the script ran. A few tries within the command timeout's
     * reach; undefined when it did not commit or Redis still does not answer.
     */
    async rotatedTo (sub: string, sid: string, newJti: string): Promise<SessionState | undefined> {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const state = await this.get(sub, sid)
          return state?.jti === newJti ? state : undefined
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)))
        }
      }
      return undefined
    },

    async get (sub: string, sid: string): Promise<SessionState | undefined> {
      const key = redisKeys.session(sub, sid)
      const [[fieldsErr, fields], [expiryErr, expiresAtMs]] = await redis.pipeline().hgetall(key).pexpiretime(key).exec() as [[Error | null, Record<string, string>], [Error | null, number]]
      // a failed read is Redis' failure, not a session that is gone
      if (fieldsErr !== null) throw fieldsErr
      if (expiryErr !== null) throw expiryErr
      const h = fields
      if (h.cur === undefined) return undefined
      // iat and exp of the current refresh token are derived, as in the scripts
      const iat = Math.floor(Number(h.rt ?? h.at) / 1000)
      return { sub, clientId: h.cid ?? '', scope: h.scp ?? '', authTime: Number(h.at), jti: h.cur, iat, exp: Math.floor(Number(expiresAtMs) / 1000), jkt: h.jkt }
    },

    /** The user agents of these ids (one read each, whatever their slots). */
    async userAgents (ids: Array<string | null | undefined>): Promise<Map<string, string>> {
      const wanted = [...new Set(ids.filter((id): id is string => typeof id === 'string'))]
      const found = new Map<string, string>()
      if (wanted.length === 0) return found
      const pipe = redis.pipeline()
      for (const id of wanted) pipe.get(redisKeys.userAgent(id))
      const rows = (await pipe.exec()) ?? []
      wanted.forEach((id, i) => { const v = rows[i]?.[1]; if (typeof v === 'string') found.set(id, v) })
      return found
    },

    /**
     * The live sessions, most recently used first, at most `limit` of them:
     * the read is bounded however large an index has grown.
     */
    async list (sub: string, now: number, limit: number): Promise<SessionInfo[]> {
      const sids = await redis.zrevrangebyscore(redisKeys.sessions(sub), '+inf', now, 'LIMIT', 0, limit)
      if (sids.length === 0) return []
      const pipe = redis.pipeline()
      for (const sid of sids) {
        const key = redisKeys.session(sub, sid)
        pipe.hmget(key, 'cid', 'scp', 'at', 'mx', 'rt', 'uai', 'ip').pexpiretime(key)
      }
      const replies = (await pipe.exec()) ?? []
      const rows = sids.map((_, i) => ({ fields: replies[2 * i], expiresAtMs: replies[2 * i + 1] }))
      const userAgents = await this.userAgents(rows.map(({ fields }) => (fields?.[1] as Array<string | null> | null)?.[5]))
      const out: SessionInfo[] = []
      sids.forEach((sid, i) => {
        const { fields, expiresAtMs } = rows[i]!
        const f = fields?.[1] as Array<string | null> | null
        if (fields?.[0] !== null || f === null || f[2] === null || expiresAtMs?.[0] !== null) return
        out.push({
          sid,
          client_id: f[0] ?? '',
          scope: f[1] ?? '',
          created_at: Number(f[2]) / 1000,
          last_used_at: Number(f[4] ?? f[2]) / 1000,
          // the current refresh token's exp, which is the key's own expiry
          expires_at: Math.floor(Number(expiresAtMs[1]) / 1000),
          max_expires_at: Math.floor(Number(f[3]) / 1000),
          user_agent: f[5] == null ? null : userAgents.get(f[5]) ?? null,
          ip: f[6] ?? null
        })
      })
      return out
    }
  }
}

export type SessionStore = ReturnType<typeof createSessionStore>
