import { randomBytes } from 'node:crypto'
import { Type, type Static } from 'typebox'
import type { FastifyRequest } from 'fastify'
import { errors } from '@ratchet/shared'
import { ErrorResponse } from '../schemas.js'
import { noStore, type App } from '../routes/context.js'
import { basicClientId } from '../routes/oauth-clients.js'
import type { SsfStreamStore, StreamConfig } from '../stores/ssf-streams.js'
import { EVENTS_SUPPORTED, PUSH_DELIVERY } from './set.js'
import { checkEndpointUrl } from './endpoint-url.js'

export interface SignalRouteDeps {
  issuer: string
  receivers: Map<string, Buffer>
  streams: SsfStreamStore
  /** SSF_RECEIVER_URL_PATTERN compiled; undefined: any http(s) URL */
  urlPattern: RegExp | undefined
  /** SSF 1.0 §8.1.4.2: queues a verification SET on the stream */
  verify: (streamId: string, state: string | undefined) => Promise<void>
  /** a deleted stream's queue goes with it */
  purge: (streamId: string) => Promise<void>
}

const EventType = Type.String({ minLength: 1, maxLength: 256 })
const Delivery = Type.Object({
  method: Type.Literal(PUSH_DELIVERY, { description: 'push (RFC 8935), the one method supported' }),
  endpoint_url: Type.String({ minLength: 1, maxLength: 2048, description: 'absolute http(s) URL without credentials' }),
  authorization_header: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'sent as Authorization with every push; never shown again' }))
}, { additionalProperties: false })
const StreamId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })
const Description = Type.String({ maxLength: 256 })
const EventsRequested = Type.Array(EventType, { minItems: 1, maxItems: 16 })

const StreamBody = Type.Object({
  delivery: Delivery,
  events_requested: Type.Optional(EventsRequested),
  description: Type.Optional(Description)
}, { additionalProperties: false })

// SSF 1.0 §8.1.1.3: transmitter-supplied properties may come back, but must match
const PatchBody = Type.Object({
  stream_id: Type.Optional(StreamId),
  delivery: Type.Optional(Delivery),
  events_requested: Type.Optional(EventsRequested),
  description: Type.Optional(Description),
  iss: Type.Optional(Type.String({ maxLength: 2048 })),
  aud: Type.Optional(Type.String({ maxLength: 256 })),
  events_supported: Type.Optional(Type.Array(EventType, { maxItems: 16 })),
  events_delivered: Type.Optional(Type.Array(EventType, { maxItems: 16 }))
}, { additionalProperties: false })

const StreamResponse = Type.Object({
  stream_id: Type.String(),
  iss: Type.String(),
  aud: Type.String(),
  delivery: Type.Object({ method: Type.String(), endpoint_url: Type.String() }),
  events_supported: Type.Array(Type.String()),
  events_requested: Type.Array(Type.String()),
  events_delivered: Type.Array(Type.String()),
  description: Type.Optional(Type.String())
})
const StreamQuery = Type.Object({ stream_id: Type.Optional(StreamId) }, { additionalProperties: false })
const Errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse }

/** What a receiver sees: no creation time, and the authorization header it gave is never echoed. */
function view (s: StreamConfig): Static<typeof StreamResponse> {
  return {
    stream_id: s.stream_id,
    iss: s.iss,
    aud: s.aud,
    delivery: { method: s.delivery.method, endpoint_url: s.delivery.endpoint_url },
    events_supported: s.events_supported,
    events_requested: s.events_requested,
    events_delivered: s.events_delivered,
    ...(s.description !== undefined ? { description: s.description } : {})
  }
}

function invalid (detail: string): Error {
  return new errors.RATCHET_SSF_INVALID_STREAM(detail)
}

/** Unknown types are refused rather than ignored, so a typo does not silently mean "no events". */
function delivered (requested: string[]): string[] {
  const unknown = requested.find((e) => !(EVENTS_SUPPORTED as readonly string[]).includes(e))
  if (unknown !== undefined) throw invalid(`events_requested: unknown event type ${JSON.stringify(unknown).slice(0, 300)} (supported: ${EVENTS_SUPPORTED.join(', ')})`)
  return EVENTS_SUPPORTED.filter((e) => requested.includes(e))
}

/**
 * SSF 1.0 transmitter metadata and stream management (§7, §8.1). Receivers
 * authenticate with HTTP Basic (SSF_RECEIVERS) and see only their own stream:
 * another receiver's stream id is a 404, as one that does not exist.
 */
export function signalRoutes (deps: SignalRouteDeps) {
  const base = deps.issuer.replace(/\/$/, '')

  function receiverOf (request: FastifyRequest): string {
    const id = basicClientId(deps.receivers, request.headers.authorization)
    if (id === undefined) throw Object.assign(new errors.RATCHET_SSF_UNAUTHORIZED(), { challenge: 'Basic realm="ssf", charset="UTF-8"' })
    return id
  }

  function checkDelivery (d: Static<typeof Delivery>): void {
    const problem = checkEndpointUrl(d.endpoint_url, deps.urlPattern)
    if (problem !== undefined) throw invalid(`delivery.endpoint_url ${problem}`)
  }

  async function streamOf (receiver: string, streamId: string | undefined): Promise<StreamConfig> {
    if (streamId === undefined) throw invalid('stream_id is required')
    const s = await deps.streams.get(receiver)
    if (s === undefined || s.stream_id !== streamId) throw new errors.RATCHET_SSF_STREAM_NOT_FOUND()
    return s
  }

  return async function routes (app: App): Promise<void> {
    app.get('/.well-known/ssf-configuration', {
      schema: {
        tags: ['signals'],
        summary: 'Shared Signals transmitter metadata (SSF 1.0 §7.1)',
        response: {
          200: Type.Object({
            spec_version: Type.String(),
            issuer: Type.String(),
            jwks_uri: Type.String(),
            delivery_methods_supported: Type.Array(Type.String()),
            configuration_endpoint: Type.String(),
            verification_endpoint: Type.String(),
            authorization_schemes: Type.Array(Type.Object({ spec_urn: Type.String() })),
            default_subjects: Type.String()
          })
        }
      }
    }, async (_request, reply) => {
      return reply.header('cache-control', 'public, max-age=300').send({
        spec_version: '1_0',
        issuer: deps.issuer,
        jwks_uri: `${base}/.well-known/jwks.json`,
        delivery_methods_supported: [PUSH_DELIVERY],
        configuration_endpoint: `${base}/ssf/streams`,
        verification_endpoint: `${base}/ssf/verify`,
        // HTTP Basic with the SSF_RECEIVERS credentials
        authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:7617' }],
        // every stream hears every user's revocations
        default_subjects: 'ALL'
      })
    })

    app.post('/ssf/streams', {
      bodyLimit: 16 * 1024,
      schema: { tags: ['signals'], summary: "Create the receiver's stream (push delivery)", body: StreamBody, response: { 201: StreamResponse, ...Errors, 409: ErrorResponse } }
    }, async (request, reply) => {
      const receiver = receiverOf(request)
      const body = request.body
      checkDelivery(body.delivery)
      const requested = body.events_requested ?? [...EVENTS_SUPPORTED]
      const stream: StreamConfig = {
        stream_id: randomBytes(16).toString('base64url'),
        iss: deps.issuer,
        aud: receiver,
        delivery: body.delivery,
        events_supported: [...EVENTS_SUPPORTED],
        events_requested: requested,
        events_delivered: delivered(requested),
        ...(body.description !== undefined ? { description: body.description } : {}),
        created_at: Date.now()
      }
      if (!await deps.streams.create(receiver, stream)) throw new errors.RATCHET_SSF_STREAM_EXISTS()
      return reply.code(201).headers(noStore).send(view(stream))
    })

    app.get('/ssf/streams', {
      schema: { tags: ['signals'], summary: "Read the receiver's stream; without stream_id, the list of its streams", querystring: StreamQuery, response: { 200: Type.Union([StreamResponse, Type.Array(StreamResponse)]), ...Errors } }
    }, async (request, reply) => {
      const receiver = receiverOf(request)
      reply.headers(noStore)
      if (request.query.stream_id === undefined) {
        const s = await deps.streams.get(receiver)
        return s === undefined ? [] : [view(s)]
      }
      return view(await streamOf(receiver, request.query.stream_id))
    })

    app.patch('/ssf/streams', {
      bodyLimit: 16 * 1024,
      schema: { tags: ['signals'], summary: "Update the receiver's stream (stream_id in the query or the body)", querystring: StreamQuery, body: PatchBody, response: { 200: StreamResponse, ...Errors } }
    }, async (request, reply) => {
      const receiver = receiverOf(request)
      const body = request.body
      if (request.query.stream_id !== undefined && body.stream_id !== undefined && request.query.stream_id !== body.stream_id) throw invalid('stream_id differs between the query and the body')
      const current = await streamOf(receiver, request.query.stream_id ?? body.stream_id)
      for (const field of ['iss', 'aud', 'events_supported', 'events_delivered'] as const) {
        if (body[field] !== undefined && JSON.stringify(body[field]) !== JSON.stringify(current[field])) throw invalid(`${field} is set by the transmitter and does not match`)
      }
      if (body.delivery !== undefined) checkDelivery(body.delivery)
      const requested = body.events_requested ?? current.events_requested
      const next: StreamConfig = {
        ...current,
        delivery: body.delivery ?? current.delivery,
        events_requested: requested,
        events_delivered: delivered(requested),
        ...(body.description !== undefined ? { description: body.description } : {})
      }
      if (!await deps.streams.replace(receiver, next)) throw new errors.RATCHET_SSF_STREAM_NOT_FOUND()
      return reply.headers(noStore).send(view(next))
    })

    app.delete('/ssf/streams', {
      schema: { tags: ['signals'], summary: "Delete the receiver's stream and what it had not yet delivered", querystring: StreamQuery, response: { 204: Type.Null(), ...Errors } }
    }, async (request, reply) => {
      const receiver = receiverOf(request)
      const streamId = request.query.stream_id
      await streamOf(receiver, streamId)
      if (!await deps.streams.delete(receiver, streamId as string)) throw new errors.RATCHET_SSF_STREAM_NOT_FOUND()
      await deps.purge(streamId as string)
      return reply.code(204).headers(noStore).send(null)
    })

    app.post('/ssf/verify', {
      bodyLimit: 4 * 1024,
      schema: {
        tags: ['signals'],
        summary: 'Ask for a verification event on the stream (SSF 1.0 §8.1.4.2)',
        body: Type.Object({ stream_id: StreamId, state: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...Errors }
      }
    }, async (request, reply) => {
      const receiver = receiverOf(request)
      const stream = await streamOf(receiver, request.body.stream_id)
      await deps.verify(stream.stream_id, request.body.state)
      return reply.code(204).headers(noStore).send(null)
    })
  }
}
