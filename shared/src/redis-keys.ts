/**
 * Redis key names (after REDIS_PREFIX, which ioredis adds). A user's sessions and
 * notes sit under the `{uid}` hash tag, an address's keys under `{email}`, so each
 * Lua script touches a single Redis Cluster slot. Read and written only by the
 * services' stores/. // wire contract: several instances share these keys
 */
export const redisKeys = {
  /** hash: id, email, created_at (the password hash sits under the address's key, which login reads) */
  user: (uid: string) => `user:{${uid}}`,
  /** hash: uid, hash, created_at; claimed atomically (a Lua script) so an address is unique, and the login index */
  email: (email: string) => `email:{${email}}`,
  /** hash: the session's state (client, scope, current/previous refresh jti, times, device fields, DPoP key thumbprint); its owner is the {uid} in the key */
  session: (uid: string, sid: string) => `session:{${uid}}:${sid}`,
  /** sorted set: sid scored by the session's idle expiry (ms; the session key's own expiry) */
  sessions: (uid: string) => `sessions:{${uid}}`,
  /** hash: note id -> JSON note */
  notes: (uid: string) => `notes:{${uid}}`,
  /** string: the signing key set (JSON), when keys are shared through Redis */
  signingKeys: () => 'keys:signing',
  /** stream: events waiting for the relay to publish them to NATS */
  outbox: () => 'outbox',
  /** hash: n (failed logins of the address), last (ms of the latest) */
  loginFailures: (email: string) => `login-failures:{${email}}`,
  /** hash: failed-login counter of an account on one known device (its device cookie) */
  deviceLoginFailures: (email: string, device: string) => `login-failures:{${email}}:device:${device}`,
  /** string: a user agent, shared by every session that logged in with it (the session holds its id) */
  userAgent: (id: string) => `user-agent:${id}`,
  /** string: a DPoP proof seen by the auth service (its key-scoped jti hash), until the proof would be stale anyway */
  dpopProof: (replayKey: string) => `dpop-proof:${replayKey}`,
  /** hash: SSF receiver id -> its stream's configuration (JSON); one stream per receiver */
  ssfStreams: () => 'ssf:streams',
  /** sorted set: the stream's undelivered SET ids scored by when each is due (ms) */
  ssfDue: (streamId: string) => `ssf:{${streamId}}:due`,
  /** hash: SET id -> its claims (JSON), until delivered or given up */
  ssfSets: (streamId: string) => `ssf:{${streamId}}:sets`,
  /** sorted set: the same ids scored by when each was made (ms), for the oldest's age */
  ssfBorn: (streamId: string) => `ssf:{${streamId}}:born`,
  /** hash: failures in a row and retry_at (ms) for the stream's receiver */
  ssfHealth: (streamId: string) => `ssf:{${streamId}}:health`,
  /** string with a TTL: this SET was queued once, so a redelivered event is not queued again */
  ssfSeen: (streamId: string, setId: string) => `ssf:{${streamId}}:seen:${setId}`
} as const
