import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errors } from '@ratchet/shared'
import type { NotesService } from '../notes/service.js'
import { bearerErrors, bearerSecurity, ErrorResponse } from '../schemas.js'

export const NOTES_READ = 'notes:read'
export const NOTES_WRITE = 'notes:write'

const Note = Type.Object({ id: Type.String(), text: Type.String(), created_at: Type.String() })

/** The protected resource: a user's notes, by scope notes:read / notes:write. // wire contract */
const notesRoutes: FastifyPluginAsyncTypebox<{ maxLength: number, notes: NotesService }> = async (app, opts) => {
  const { notes } = opts

  app.get('/v1/notes', {
    onRequest: app.requireToken(NOTES_READ),
    schema: { tags: ['notes'], summary: 'The user\'s notes (scope notes:read)', security: bearerSecurity, response: { 200: Type.Object({ notes: Type.Array(Note) }), ...bearerErrors } }
  }, async (request) => {
    return { notes: await notes.list(request.token!.sub) }
  })

  app.post('/v1/notes', {
    onRequest: app.requireToken(NOTES_WRITE),
    schema: {
      tags: ['notes'],
      summary: 'Add a note (scope notes:write)',
      security: bearerSecurity,
      body: Type.Object({ text: Type.String({ minLength: 1, maxLength: opts.maxLength }) }, { additionalProperties: false }),
      response: { 201: Note, ...bearerErrors, 413: ErrorResponse, 415: ErrorResponse }
    }
  }, async (request, reply) => {
    const note = await notes.add(request.token!.sub, request.body.text)
    return reply.code(201).send(note)
  })

  app.delete('/v1/notes/:id', {
    onRequest: app.requireToken(NOTES_WRITE),
    schema: {
      tags: ['notes'],
      summary: 'Delete a note (scope notes:write)',
      security: bearerSecurity,
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false }),
      response: { 204: Type.Null(), ...bearerErrors, 404: ErrorResponse }
    }
  }, async (request, reply) => {
    if (!await notes.remove(request.token!.sub, request.params.id)) throw new errors.RATCHET_NOTE_NOT_FOUND()
    return reply.code(204).send(null)
  })
}

export default notesRoutes
