import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'

/** Why a session ended. Known words first; any other short word is accepted. // wire contract */
export const RevocationReason = {
  logout: 'logout',
  logoutAll: 'logout_all',
  sessionDeleted: 'session_deleted',
  refreshTokenReuse: 'refresh_token_reuse',
  revoked: 'revoked',
  passwordChanged: 'password_changed',
  logoutOthers: 'logout_others',
  accountDeleted: 'account_deleted',
  admin: 'admin',
  /** a login past MAX_SESSIONS_PER_USER ended the least recently used session */
  sessionLimit: 'session_limit'
} as const

const NumericDate = Type.Number({ minimum: 0 })
const Id = Type.String({ minLength: 1, maxLength: 128 })
const Reason = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' })

/** `<prefix>.events.session.revoked`: one session ended. */
export const SessionRevokedEvent = Type.Object({
  id: Id,
  sid: Type.String({ minLength: 1, maxLength: 128 }),
  sub: Type.String({ minLength: 1, maxLength: 128 }),
  reason: Reason,
  at: NumericDate
})

/** `<prefix>.events.user.revoked`: every session of `sub` that started strictly before `before` ended. */
export const UserRevokedEvent = Type.Object({
  id: Id,
  sub: Type.String({ minLength: 1, maxLength: 128 }),
  before: NumericDate,
  reason: Reason,
  at: NumericDate
})

/**
 * `<prefix>.events.user.deleted`: the account `sub` no longer exists; services
 * delete what they keep for it. Always follows a `user.revoked` that ended its sessions.
 */
export const UserDeletedEvent = Type.Object({
  id: Id,
  sub: Type.String({ minLength: 1, maxLength: 128 }),
  at: NumericDate
})

export type SessionRevoked = Static<typeof SessionRevokedEvent>
export type UserRevoked = Static<typeof UserRevokedEvent>
export type UserDeleted = Static<typeof UserDeletedEvent>

export type RatchetEvent =
  | { type: 'session.revoked', data: SessionRevoked }
  | { type: 'user.revoked', data: UserRevoked }
  | { type: 'user.deleted', data: UserDeleted }

export type EventType = RatchetEvent['type']

/** NATS subjects, all under `<prefix>.events.>`. // wire contract */
export function subjects (prefix: string) {
  return {
    all: `${prefix}.events.>`,
    sessionRevoked: `${prefix}.events.session.revoked`,
    userRevoked: `${prefix}.events.user.revoked`,
    userDeleted: `${prefix}.events.user.deleted`
  } as const
}

/** The subject events of `type` are published on. */
export function subjectOfType (prefix: string, type: EventType): string {
  return `${prefix}.events.${type}`
}

const checkSession = Compile(SessionRevokedEvent)
const checkUser = Compile(UserRevokedEvent)
const checkDeleted = Compile(UserDeletedEvent)

export type ParsedEvent = { ok: true, event: RatchetEvent } | { ok: false, error: string }

/**
 * Validates a message received on `subject`. Never throws: a consumer logs and
 * skips whatever is not a well-formed event.
 */
export function parseEvent (prefix: string, subject: string, payload: Uint8Array | string): ParsedEvent {
  let data: unknown
  try {
    data = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload))
  } catch {
    return { ok: false, error: 'payload is not JSON' }
  }
  const names = subjects(prefix)
  if (subject === names.sessionRevoked) {
    if (checkSession.Check(data)) return { ok: true, event: { type: 'session.revoked', data } }
    return { ok: false, error: `session.revoked: ${firstError(checkSession.Errors(data))}` }
  }
  if (subject === names.userRevoked) {
    if (checkUser.Check(data)) return { ok: true, event: { type: 'user.revoked', data } }
    return { ok: false, error: `user.revoked: ${firstError(checkUser.Errors(data))}` }
  }
  if (subject === names.userDeleted) {
    if (checkDeleted.Check(data)) return { ok: true, event: { type: 'user.deleted', data } }
    return { ok: false, error: `user.deleted: ${firstError(checkDeleted.Errors(data))}` }
  }
  return { ok: false, error: `unknown subject ${subject}` }
}

function firstError (errors: Iterable<{ instancePath?: string, message?: string }>): string {
  const [e] = errors
  if (e === undefined) return 'invalid'
  return `${e.instancePath === '' || e.instancePath === undefined ? '/' : e.instancePath} ${e.message ?? 'is invalid'}`
}

/** The subject an event is published on. */
export function subjectOf (prefix: string, event: RatchetEvent): string {
  return subjectOfType(prefix, event.type)
}

/** Seconds since the epoch with millisecond precision (a JWT NumericDate). */
export function numericDate (ms: number): number {
  return Math.round(ms) / 1000
}

/**
 * An event's `at` and `before` bounded by when it reached us plus the clock
 * leeway (NumericDates). `receivedMs` is the stream's own timestamp of the
 * message (set by the server, not the publisher; a replay keeps it) or the
 * local clock, whichever is earlier. Without the bound, a forged
 * `user.revoked` with `before` in the future would refuse the victim's future
 * logins too, not just end their sessions.
 */
export function clampEventTimes<E extends { data: object }> (event: E, receivedMs: number, leewaySeconds: number): E {
  const latest = (Math.min(receivedMs, Date.now()) + leewaySeconds * 1000) / 1000
  const data: Record<string, unknown> = { ...event.data }
  for (const field of ['at', 'before']) {
    const value = data[field]
    if (typeof value === 'number' && value > latest) data[field] = latest
  }
  return { ...event, data } as E
}

/** When the stream stored a JetStream message (ms), from its server-set timestamp. */
export function storedAtMs (info: { timestampNanos: number }): number {
  return Math.floor(info.timestampNanos / 1e6)
}
