import { createHash, randomUUID } from 'node:crypto'
import type { RatchetEvent } from '@ratchet/shared'
import type { KeyRing } from '../keys/ring.js'
import { currentKeySigner } from '../keys/signer.js'

/** CAEP 1.0 §3.1. // wire contract */
export const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked'
/** SSF 1.0 §8.1.4.1. // wire contract */
export const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification'
/** RFC 8935 push delivery. // wire contract */
export const PUSH_DELIVERY = 'urn:ietf:rfc:8935'
/** RFC 8417 §2.3 explicit typing, as SSF 1.0 §4.1.1 requires. // wire contract */
export const SET_TYP = 'secevent+jwt'

/** The event types a stream may request. */
export const EVENTS_SUPPORTED = [SESSION_REVOKED] as const

/** What initiated a revocation, in CAEP's words (§2: initiating_entity), from our reason. */
function initiatingEntity (reason: string): 'user' | 'admin' | 'policy' | 'system' {
  if (reason === 'logout' || reason === 'logout_all' || reason === 'logout_others' || reason === 'password_changed' || reason === 'account_deleted' || reason === 'session_deleted') return 'user'
  if (reason === 'admin') return 'admin'
  if (reason === 'refresh_token_reuse' || reason === 'revoked') return 'policy'
  return 'system'
}

/** The events that end sessions; `user.deleted` follows a `user.revoked` and adds nothing a receiver acts on. */
export type Revocation = Extract<RatchetEvent, { type: 'session.revoked' | 'user.revoked' }>

export function isRevocation (event: RatchetEvent): event is Revocation {
  return event.type === 'session.revoked' || event.type === 'user.revoked'
}

/** The claims of a SET, without iss and aud (the stream's, added when signed). */
export interface SetBody {
  jti: string
  iat: number
  txn?: string
  sub_id: Record<string, unknown>
  events: Record<string, Record<string, unknown>>
}

/**
 * The same event gives the same SET id on a stream, so a redelivered event is
 * recognised; another stream gets another id (RFC 8417 §2.2: unique per SET).
 */
export function setIdOf (streamId: string, eventId: string): string {
  return createHash('sha256').update(`${streamId}\n${eventId}`).digest('base64url').slice(0, 27)
}

/**
 * A revocation as a CAEP session-revoked SET body: one session is a complex
 * subject (session + user), all of a user's sessions the user alone. The
 * timestamp keeps milliseconds: for a user it is the cut-off (`before`) that a
 * receiver compares with each token's `auth_time`, which has them too.
 */
export function revocationSet (streamId: string, event: Revocation, nowMs: number): SetBody {
  const d = event.data
  const subId = event.type === 'session.revoked'
    ? { format: 'complex', session: { format: 'opaque', id: event.data.sid }, user: { format: 'opaque', id: d.sub } }
    : { format: 'opaque', id: d.sub }
  const timestamp = event.type === 'session.revoked' ? event.data.at : event.data.before
  return {
    jti: setIdOf(streamId, d.id),
    iat: Math.floor(nowMs / 1000),
    txn: d.id,
    sub_id: subId,
    events: {
      [SESSION_REVOKED]: { event_timestamp: timestamp, initiating_entity: initiatingEntity(d.reason), reason_admin: { en: d.reason } }
    }
  }
}

/** SSF 1.0 §8.1.4.1: the subject is the stream itself; `state` echoes the receiver's. */
export function verificationSet (streamId: string, state: string | undefined, nowMs: number): SetBody {
  return {
    jti: randomUUID(),
    iat: Math.floor(nowMs / 1000),
    sub_id: { format: 'opaque', id: streamId },
    events: { [VERIFICATION]: state === undefined ? {} : { state } }
  }
}

/**
 * Signs SETs with the access-token key that signs now (its kid is in the JWKS),
 * so a SET retried after a key rotation still verifies. No `sub`, no `exp`
 * (SSF 1.0 §4.1.2, §4.1.7); `iat` is the body's (fast-jwt keeps a given one).
 */
export function createSetSigner (getRing: () => KeyRing) {
  const sign = currentKeySigner<object>(getRing, SET_TYP)
  return (body: SetBody, iss: string, aud: string): string => sign({ iss, aud, ...body })
}

export type SetSigner = ReturnType<typeof createSetSigner>
