import type { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'

/** A stream's configuration as stored; `created_at` (ms) is ours, the rest is SSF 1.0 §8.1.1. */
export interface StreamConfig {
  stream_id: string
  iss: string
  aud: string
  delivery: { method: string, endpoint_url: string, authorization_header?: string }
  events_supported: string[]
  events_requested: string[]
  events_delivered: string[]
  description?: string
  created_at: number
}

export interface ReceiverStream { receiver: string, stream: StreamConfig }

// ARGV: receiver, streamId, json -> 1 replaced, 0 no such stream (it was deleted or recreated meanwhile)
const replaceIfSame = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or cjson.decode(cur).stream_id ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`

// ARGV: receiver, streamId -> 1 deleted, 0 no such stream
const deleteIfSame = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or cjson.decode(cur).stream_id ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`

interface StreamCommands {
  ratchetSsfReplaceStream: (key: string, receiver: string, streamId: string, json: string) => Promise<number>
  ratchetSsfDeleteStream: (key: string, receiver: string, streamId: string) => Promise<number>
}

/** Shared Signals streams in one Redis hash, keyed by receiver id: one stream each. */
export function createSsfStreamStore (redis: Redis) {
  redis.defineCommand('ratchetSsfReplaceStream', { numberOfKeys: 1, lua: replaceIfSame })
  redis.defineCommand('ratchetSsfDeleteStream', { numberOfKeys: 1, lua: deleteIfSame })
  const r = redis as unknown as Redis & StreamCommands
  const key = redisKeys.ssfStreams()

  return {
    async get (receiver: string): Promise<StreamConfig | undefined> {
      const json = await r.hget(key, receiver)
      return json === null ? undefined : JSON.parse(json) as StreamConfig
    },
    async list (): Promise<ReceiverStream[]> {
      const all = await r.hgetall(key)
      return Object.entries(all).map(([receiver, json]) => ({ receiver, stream: JSON.parse(json) as StreamConfig }))
    },
    /** false when the receiver already has a stream */
    async create (receiver: string, stream: StreamConfig): Promise<boolean> {
      return (await r.hsetnx(key, receiver, JSON.stringify(stream))) === 1
    },
    /** false when the receiver's stream is no longer this one */
    async replace (receiver: string, stream: StreamConfig): Promise<boolean> {
      return (await r.ratchetSsfReplaceStream(key, receiver, stream.stream_id, JSON.stringify(stream))) === 1
    },
    async delete (receiver: string, streamId: string): Promise<boolean> {
      return (await r.ratchetSsfDeleteStream(key, receiver, streamId)) === 1
    }
  }
}

export type SsfStreamStore = ReturnType<typeof createSsfStreamStore>
