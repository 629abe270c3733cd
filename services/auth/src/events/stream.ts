import { DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamManager, type NatsError, type StreamConfig } from 'nats'
import type { FastifyBaseLogger } from 'fastify'

export interface StreamSpec {
  name: string
  subject: string
  /** the least the stream must keep an event (seconds) */
  maxAgeSeconds: number
  /** the least window for de-duplication on Nats-Msg-Id (seconds) */
  duplicateWindowSeconds: number
  /** copies kept on a NATS cluster (NATS_STREAM_REPLICAS); 1 on a single server */
  replicas?: number
}

/**
 * How long the stream keeps events: at least an access token's life plus leeway
 * (a resource service replays that far back), plus a minute for clock skew and
 * for events the outbox held while NATS was away; and at least a day, so the
 * auth service's durable consumer still finds events another service published
 * during an auth outage of up to a day. Events are ~200 bytes: a day is cheap.
 */
export function retentionSeconds (accessTokenTtl: number, clockLeeway: number): number {
  return Math.max(accessTokenTtl + clockLeeway + 60, 24 * 3600)
}

function apiCode (err: unknown): number | undefined {
  return (err as NatsError).api_error?.err_code
}

const STREAM_NOT_FOUND = 10059
const STREAM_NAME_IN_USE = 10058

/**
 * Creates the event stream, or widens an existing one where it is too small.
 * Never shrinks a larger setting an operator chose, and never deletes the stream:
 * it holds revocations other services rely on.
 */
export async function ensureStream (jsm: JetStreamManager, spec: StreamSpec, log: FastifyBaseLogger): Promise<'created' | 'updated' | 'unchanged'> {
  const maxAge = nanos(spec.maxAgeSeconds * 1000)
  const window = nanos(spec.duplicateWindowSeconds * 1000)
  for (let attempt = 0; ; attempt++) {
    let config: StreamConfig
    try {
      config = (await jsm.streams.info(spec.name)).config
    } catch (err) {
      if (apiCode(err) !== STREAM_NOT_FOUND) throw err
      try {
        await jsm.streams.add({
          name: spec.name,
          subjects: [spec.subject],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
          max_age: maxAge,
          duplicate_window: window,
          num_replicas: spec.replicas ?? 1
        })
        log.info({ stream: spec.name, maxAgeSeconds: spec.maxAgeSeconds }, 'created the event stream')
        return 'created'
      } catch (addErr) {
        // another auth instance created it between our two calls: update that one instead
        if (apiCode(addErr) === STREAM_NAME_IN_USE && attempt === 0) continue
        throw addErr
      }
    }
    const changes: string[] = []
    if (!config.subjects.includes(spec.subject)) {
      config.subjects = [...config.subjects, spec.subject]
      changes.push('subjects')
    }
    // 0 means "forever", which is already long enough
    if (config.max_age !== 0 && config.max_age < maxAge) {
      config.max_age = maxAge
      changes.push('max_age')
    }
    if (config.duplicate_window < window) {
      config.duplicate_window = window
      changes.push('duplicate_window')
    }
    // more copies survive more lost nodes; fewer than asked is widened like the rest
    if (spec.replicas !== undefined && config.num_replicas < spec.replicas) {
      config.num_replicas = spec.replicas
      changes.push('num_replicas')
    }
    if (config.storage !== StorageType.File) {
      // storage cannot change on a live stream; say so rather than delete it
      log.warn({ stream: spec.name, storage: config.storage }, 'the event stream is not on file storage; events do not survive a NATS restart')
    }
    if (changes.length === 0) return 'unchanged'
    await jsm.streams.update(spec.name, config)
    log.info({ stream: spec.name, changes }, 'widened the event stream settings')
    return 'updated'
  }
}
