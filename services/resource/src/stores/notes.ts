import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'

export interface Note {
  id: string
  text: string
  /** ISO 8601 */
  created_at: string
}

/** A user's notes: one Redis hash per user (`notes:{uid}`), note id → JSON. Nothing else. */
export function createNotesStore (redis: Redis) {
  return {
    async list (uid: string): Promise<Note[]> {
      const values = await redis.hvals(redisKeys.notes(uid))
      return values.map((v) => JSON.parse(v) as Note).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id))
    },

    async add (uid: string, text: string, now = new Date()): Promise<Note> {
      const note: Note = { id: randomUUID(), text, created_at: now.toISOString() }
      await redis.hset(redisKeys.notes(uid), note.id, JSON.stringify(note))
      return note
    },

    /** True when the note existed. */
    async remove (uid: string, id: string): Promise<boolean> {
      return (await redis.hdel(redisKeys.notes(uid), id)) === 1
    },

    /** Every note of the user (the account was deleted). */
    async removeAll (uid: string): Promise<void> {
      await redis.del(redisKeys.notes(uid))
    }
  }
}

export type NotesStore = ReturnType<typeof createNotesStore>
