import type { Redis } from 'ioredis'

/**
 * Bounded shutdown: each step of a close gets a deadline and gives up cleanly when its
 * dependency is away, so a service closes within a few seconds whatever is down.
 */

/**
 * How long one close step may take by default (ms). Giving up early loses nothing: an
 * unsent ack is redelivered (applying is idempotent), an unacked outbox entry is
 * published again (the stream drops the copy by its message id).
 */
export const CLOSE_STEP_MS = 1000

const timedOut = Symbol('timed out')

/**
 * The work's result, or `fallback` once `ms` have passed (or when it rejects). The work
 * goes on in the background; callers cut it short themselves (disconnect, abort) where
 * it holds a resource. The timer never keeps the process alive.
 */
export async function withDeadline<T, F = undefined> (work: Promise<T>, ms: number, fallback?: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<typeof timedOut>((resolve) => {
    timer = setTimeout(() => { resolve(timedOut) }, ms)
    timer.unref()
  })
  try {
    const result = await Promise.race([work, deadline])
    return result === timedOut ? fallback as F : result as T
  } catch {
    return fallback as F
  } finally {
    clearTimeout(timer)
  }
}

/** The ioredis internals that hold commands across a reconnection (see disconnectRedis). */
interface HeldCommands {
  stream?: { destroy: () => void }
  flushQueue?: (err: Error) => void
  /** commands in flight when the connection dropped, to be sent again once it is back */
  prevCommandQueue?: { shift: () => { command: { reject: (err: Error) => void } } | undefined } | null
}

/**
 * Closes an ioredis client (a single server or a Cluster) within `ms`: QUIT when it is
 * connected, so replies in flight arrive; otherwise, or when QUIT gets no answer in
 * time, disconnectRedis.
 */
export async function closeRedis (redis: Redis, ms = CLOSE_STEP_MS): Promise<void> {
  if (redis.status === 'end') return
  if (redis.status === 'ready') {
    const quit = await withDeadline(redis.quit().then(() => true), ms, false)
    if (quit) return
  }
  disconnectRedis(redis)
}

/**
 * Drops an ioredis connection at once (ending a blocking read in flight), and fails
 * every command it still holds with "Connection is closed.".
 *
 * Why more than disconnect(): it only half-closes the socket, so a server that stopped
 * answering keeps it open (and the process alive); and called between reconnection
 * attempts it cancels the next attempt, and with it the only event that would fail the
 * commands the client holds (its offline queue, and with `maxRetriesPerRequest: null`
 * the commands in flight when the connection dropped): they would wait forever, and so
 * would whoever awaits them (a relay loop, a close hook).
 */
export function disconnectRedis (redis: Redis): void {
  redis.disconnect()
  const held = redis as unknown as HeldCommands
  held.stream?.destroy()
  if (redis.status === 'end') return
  const closed = new Error('Connection is closed.')
  held.flushQueue?.(closed)
  for (let item = held.prevCommandQueue?.shift(); item !== undefined; item = held.prevCommandQueue?.shift()) item.command.reject(closed)
}

/** What drainNats needs of a NATS connection (nats.js' NatsConnection has it). */
export interface DrainableConnection {
  isClosed: () => boolean
  drain: () => Promise<void>
  close: () => Promise<void>
}

/**
 * Drains a NATS connection within `ms` (acks and publishes in flight go out), else
 * closes it. A drain needs the server's answer, so it never finishes while the client
 * is reconnecting: `connected: false` skips it and closes at once.
 */
export async function drainNats (nc: DrainableConnection | undefined | null, ms = CLOSE_STEP_MS, connected = true): Promise<void> {
  if (nc === undefined || nc === null || nc.isClosed()) return
  const drained = connected && await withDeadline(nc.drain().then(() => true), ms, false)
  if (drained || nc.isClosed()) return
  await withDeadline(nc.close(), ms)
}
