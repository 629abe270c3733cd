import type { Note, NotesStore } from '../stores/notes.js'

export type { Note }

/**
 * What the routes may do with a user's notes. Built once in app.ts and handed
 * to the routes; the clock is injected so tests can date notes.
 */
export function createNotesService (store: NotesStore, now: () => number = Date.now) {
  return {
    list: async (sub: string): Promise<Note[]> => await store.list(sub),
    add: async (sub: string, text: string): Promise<Note> => await store.add(sub, text, new Date(now())),
    /** True when the note existed. */
    remove: async (sub: string, id: string): Promise<boolean> => await store.remove(sub, id)
  }
}

export type NotesService = ReturnType<typeof createNotesService>
