import type { EventEmitter } from 'node:events'

/** The part of a pino (or console-like) logger that connection reports need. */
export interface ConnectionLog {
  warn: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
}

/**
 * Gives an ioredis client (a Redis or a Cluster) its error listener: one warning when the connection is lost
 * (ioredis keeps reconnecting on its own, and reports every failed attempt as an
 * `error` event, which without a listener it prints as "Unhandled error event"),
 * and one line when it is back.
 */
export function logRedisErrors<R extends EventEmitter> (redis: R, log: ConnectionLog, name = 'Redis'): R {
  let down = false
  redis.on('error', (err: Error) => {
    if (down) return
    down = true
    log.warn({ reason: err.message }, `${name} is unavailable; reconnecting`)
  })
  redis.on('ready', () => {
    if (down) log.info({}, `${name} is back`)
    down = false
  })
  return redis
}
