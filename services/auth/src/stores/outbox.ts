import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { createRedisClient, disconnectRedis, logRedisErrors, redisKeys, type ConnectionLog, type RatchetEvent, type RedisTarget, type SessionRevoked, type UserDeleted, type UserRevoked } from '@ratchet/shared'

/**
 * The outbox: an event is written to a Redis stream before the revocation it
 * announces takes effect, and a relay publishes it to NATS. A logout that
 * returned is therefore always broadcast, even if NATS is down right now.
 */
export function createOutbox (redis: Redis) {
  const key = redisKeys.outbox()
  async function append (event: RatchetEvent): Promise<void> {
    await redis.xadd(key, '*', 'type', event.type, 'data', JSON.stringify(event.data))
  }
  return {
    key,
    async sessionRevoked (e: Omit<SessionRevoked, 'id'>): Promise<SessionRevoked> {
      const data = { id: randomUUID(), ...e }
      await append({ type: 'session.revoked', data })
      return data
    },
    async userRevoked (e: Omit<UserRevoked, 'id'>): Promise<UserRevoked> {
      const data = { id: randomUUID(), ...e }
      await append({ type: 'user.revoked', data })
      return data
    },
    async userDeleted (e: Omit<UserDeleted, 'id'>): Promise<UserDeleted> {
      const data = { id: randomUUID(), ...e }
      await append({ type: 'user.deleted', data })
      return data
    }
  }
}

export type Outbox = ReturnType<typeof createOutbox>

/** The Redis consumer group every auth instance's relay joins. // wire contract */
export const RELAY_GROUP = 'relay'

export type OutboxEntry = [id: string, fields: string[] | null]

// Atomic, so a consumer that just received entries is never removed with them
// (XGROUP DELCONSUMER drops a consumer's pending entries).
const removeIdleConsumers = `
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f.pending == 0 and f.idle >= tonumber(ARGV[2]) and f.name ~= ARGV[4] and (ARGV[3] == '' or ARGV[3] == f.name) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f.name)
    removed = removed + 1
  end
end
return removed
`
// A script rather than conn.xgroup(): ioredis does not apply keyPrefix to XGROUP's key.
const createGroup = `
local ok, err = pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if not ok and not string.find(tostring(err), 'BUSYGROUP') then return redis.error_reply(tostring(err)) end
return 1
`
interface GroupCommands {
  ratchetRemoveIdleConsumers: (key: string, group: string, minIdle: number, only: string, skip: string) => Promise<number>
  ratchetCreateGroup: (key: string, group: string) => Promise<number>
}

export interface OutboxReaderOptions {
  /** where Redis is: the reader opens its own connection (a Cluster if the target is one) */
  target: RedisTarget
  /** the shared client, for the one command that runs after the reader's connection closed */
  redis: Redis
  /** this reader's name in the group */
  consumer: string
  /** how long a blocking read waits (ms) */
  blockMs: number
  /** entries another reader received this long ago without acking are taken over (ms) */
  claimIdleMs: number
  /** where the reader's connection errors are logged */
  log: ConnectionLog
}

/**
 * The outbox as the relay reads it: a consumer group over the stream, so each
 * entry goes to one instance, and an entry is removed only once acknowledged.
 */
export function createOutboxReader (opts: OutboxReaderOptions) {
  const key = redisKeys.outbox()
  // Blocking reads need their own connection: the shared client's command timeout
  // would cut them off, and they would hold up every request behind them.
  const conn = createRedisClient(opts.target, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectionName: `ratchet-relay-${opts.consumer}`,
    retryStrategy: (times) => Math.min(100 * times, 2000)
  }) as Redis & GroupCommands
  conn.defineCommand('ratchetCreateGroup', { numberOfKeys: 1, lua: createGroup })
  logRedisErrors(conn, opts.log, 'Redis (outbox relay)')
  opts.redis.defineCommand('ratchetRemoveIdleConsumers', { numberOfKeys: 1, lua: removeIdleConsumers })
  const shared = opts.redis as Redis & GroupCommands
  const entries = (res: unknown): OutboxEntry[] => (res as Array<[string, OutboxEntry[]]> | null)?.[0]?.[1] ?? []

  return {
    async connect (): Promise<void> { if (conn.status === 'wait') await conn.connect() },
    /** from 0: entries written before any relay ran are published too */
    async ensureGroup (): Promise<void> { await conn.ratchetCreateGroup(key, RELAY_GROUP) },
    readOwnPending: async (): Promise<OutboxEntry[]> => entries(await conn.xreadgroup('GROUP', RELAY_GROUP, opts.consumer, 'COUNT', 100, 'STREAMS', key, '0')),
    /** the wake-up: returns as soon as a logout appends to the outbox */
    readNew: async (): Promise<OutboxEntry[]> => entries(await conn.xreadgroup('GROUP', RELAY_GROUP, opts.consumer, 'COUNT', 100, 'BLOCK', opts.blockMs, 'STREAMS', key, '>')),
    async claimAbandoned (): Promise<OutboxEntry[]> {
      const res = await conn.xautoclaim(key, RELAY_GROUP, opts.consumer, opts.claimIdleMs, '0-0', 'COUNT', 100) as [string, OutboxEntry[], string[]?]
      return res[1]
    },
    /** removes what the stream acknowledged */
    async ack (ids: string[]): Promise<void> { await conn.multi().xack(key, RELAY_GROUP, ...ids).xdel(key, ...ids).exec() },
    /** consumers idle for `minIdleMs` with nothing pending leave the group (`only`: just that one; `skip`: never that one) */
    removeIdleConsumers: async (minIdleMs: number, only: string, skip: string): Promise<number> =>
      await shared.ratchetRemoveIdleConsumers(key, RELAY_GROUP, minIdleMs, only, skip).catch(() => 0),
    /** a blocking read in flight only ends with its connection */
    disconnect (): void { disconnectRedis(conn) }
  }
}

/** Milliseconds in a Redis stream entry id (`<ms>-<seq>`). */
const entryTime = (id: string): number => Number(id.slice(0, id.indexOf('-')))

/** What /metrics reads of the outbox; undefined while Redis is unreachable. */
export function outboxGauges (redis: Redis) {
  const key = redisKeys.outbox()
  return {
    depth: async (): Promise<number | undefined> => await redis.xlen(key).catch(() => undefined),
    /** age of the oldest entry in seconds, 0 when empty */
    async oldestAgeSeconds (nowMs: number): Promise<number | undefined> {
      const first = await redis.xrange(key, '-', '+', 'COUNT', 1).catch(() => undefined)
      if (first === undefined) return undefined
      const id = first[0]?.[0]
      return id === undefined ? 0 : Math.max(0, (nowMs - entryTime(id)) / 1000)
    }
  }
}
