import { errors } from '@ratchet/shared'
import type { SessionInfo } from '../stores/sessions.js'

export interface SessionPage { sessions: SessionInfo[], nextCursor: string | null }

/** Newest first; equal start times by sid, so the order is total and a cursor is exact. */
export function newestFirst (a: SessionInfo, b: SessionInfo): number {
  return b.created_at - a.created_at || (a.sid < b.sid ? 1 : a.sid > b.sid ? -1 : 0)
}

// A cursor names the last session of a page by its place in the order (start
// time and sid), not by an offset: sessions that end or start between two
// pages neither repeat nor skip the ones after it.
const encode = (s: SessionInfo) => Buffer.from(`${Math.round(s.created_at * 1000)}.${s.sid}`).toString('base64url')

function decode (cursor: string): Pick<SessionInfo, 'created_at' | 'sid'> {
  const m = /^(\d{1,16})\.([A-Za-z0-9-]{1,64})$/.exec(Buffer.from(cursor, 'base64url').toString())
  if (m === null) throw new errors.RATCHET_INVALID_CURSOR('not a cursor this service issued')
  return { created_at: Number(m[1]) / 1000, sid: m[2]! }
}

/** The page after `cursor` of a list already sorted by `newestFirst`. */
export function pageOf (sorted: SessionInfo[], opts: { cursor?: string | undefined, limit: number }): SessionPage {
  let rest = sorted
  if (opts.cursor !== undefined) {
    const after = decode(opts.cursor)
    rest = sorted.filter((s) => newestFirst(after as SessionInfo, s) < 0)
  }
  const sessions = rest.slice(0, opts.limit)
  const last = sessions.at(-1)
  return { sessions, nextCursor: rest.length > opts.limit && last !== undefined ? encode(last) : null }
}
