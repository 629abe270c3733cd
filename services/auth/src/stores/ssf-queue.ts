import type { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'
import * as scripts from './ssf-queue-scripts.js'

type Keys4 = [string, string, string, string]

interface QueueCommands {
  ratchetSsfEnqueue: (...args: [...Keys4, string, string, string, number, number]) => Promise<number>
  ratchetSsfClaim: (...args: [...Keys4, number, number, number]) => Promise<Array<string | number>>
  ratchetSsfSettle: (...args: [...Keys4, string, string]) => Promise<number>
  ratchetSsfRetry: (...args: [...Keys4, string, number, number, number, number, number]) => Promise<number>
  ratchetSsfRelease: (...args: [...Keys4, ...string[]]) => Promise<number>
}

export interface QueuedSet {
  id: string
  /** the SET's claims as JSON, signed at each attempt */
  claims: string
}

export interface Claimed {
  entries: QueuedSet[]
  /** when the earliest entry is due (ms), undefined when the queue is empty */
  nextDue: number | undefined
  /** until when the receiver is backed off (ms), 0 when it is not */
  retryAt: number
}

function keysOf (streamId: string): Keys4 {
  return [redisKeys.ssfDue(streamId), redisKeys.ssfSets(streamId), redisKeys.ssfBorn(streamId), redisKeys.ssfHealth(streamId)]
}

/** Each Shared Signals stream's durable delivery queue: Redis keys and scripts, no policy. */
export function createSsfQueue (redis: Redis) {
  redis.defineCommand('ratchetSsfEnqueue', { numberOfKeys: 5, lua: scripts.enqueue })
  redis.defineCommand('ratchetSsfClaim', { numberOfKeys: 4, lua: scripts.claim })
  redis.defineCommand('ratchetSsfSettle', { numberOfKeys: 4, lua: scripts.settle })
  redis.defineCommand('ratchetSsfRetry', { numberOfKeys: 4, lua: scripts.retry })
  redis.defineCommand('ratchetSsfRelease', { numberOfKeys: 4, lua: scripts.release })
  const r = redis as unknown as Redis & QueueCommands

  return {
    /** Queues a SET once: false if this id was queued before (within seenTtl). */
    async enqueue (streamId: string, set: QueuedSet, bornMs: number, seenTtlSeconds: number): Promise<boolean> {
      return (await r.ratchetSsfEnqueue(...keysOf(streamId), redisKeys.ssfSeen(streamId, set.id), set.id, set.claims, bornMs, seenTtlSeconds)) === 1
    },

    /** Leases up to `limit` due entries until `leaseUntil`. */
    async claim (streamId: string, now: number, leaseUntil: number, limit: number): Promise<Claimed> {
      const res = await r.ratchetSsfClaim(...keysOf(streamId), now, leaseUntil, limit)
      const entries: QueuedSet[] = []
      for (let i = 2; i + 1 < res.length; i += 2) entries.push({ id: String(res[i]), claims: String(res[i + 1]) })
      const next = Number(res[0])
      return { entries, nextDue: next < 0 ? undefined : next, retryAt: Number(res[1]) }
    },

    /** Removes a delivered (or given-up) entry; `answered` clears the receiver's failure count. */
    async settle (streamId: string, id: string, answered: boolean): Promise<void> {
      await r.ratchetSsfSettle(...keysOf(streamId), id, answered ? '1' : '0')
    },

    /** Backs the receiver off and requeues the entry for then; returns when (ms). */
    async retry (streamId: string, id: string, a: { now: number, startedAt: number, baseMs: number, capMs: number, jitter: number }): Promise<number> {
      return await r.ratchetSsfRetry(...keysOf(streamId), id, a.now, a.baseMs, a.capMs, a.jitter, a.startedAt)
    },

    /** Hands leased entries back at once. */
    async release (streamId: string, ids: string[]): Promise<void> {
      if (ids.length > 0) await r.ratchetSsfRelease(...keysOf(streamId), ...ids)
    },

    async depth (streamId: string): Promise<number> {
      return await r.zcard(redisKeys.ssfDue(streamId))
    },

    /** When the oldest undelivered SET was made (ms), undefined when none waits. */
    async oldest (streamId: string): Promise<number | undefined> {
      const first = await r.zrange(redisKeys.ssfBorn(streamId), 0, 0, 'WITHSCORES')
      return first[1] === undefined ? undefined : Number(first[1])
    },

    /** Drops a deleted stream's queue. */
    async purge (streamId: string): Promise<void> {
      await r.del(...keysOf(streamId))
    }
  }
}

export type SsfQueue = ReturnType<typeof createSsfQueue>
