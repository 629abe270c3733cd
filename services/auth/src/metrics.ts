import { Counter } from 'prom-client'
import type { Redis } from 'ioredis'
import { counterFrom, createAppMetrics, gaugeFrom, redisKeys } from '@ratchet/shared'
import { eventCounters } from './events/counters.js'

/** How a refresh ended (tokens/service.ts reports it). // wire contract: label values */
export type RefreshResult = 'rotated' | 'grace' | 'reuse' | 'invalid'

/** The login route's answers that count as a login attempt, by status. */
const LOGIN_RESULTS: Record<number, string> = { 200: 'success', 401: 'failure', 429: 'throttled' }

/** Milliseconds in a Redis stream entry id (`<ms>-<seq>`). */
const entryTime = (id: string): number => Number(id.slice(0, id.indexOf('-')))

/**
 * The auth service's metrics, one set per app (tests run several apps in one
 * process). Event counters are process-wide numbers kept by events/, read at
 * scrape time; the outbox is measured in Redis at scrape time, so every
 * instance reports the same shared outbox.
 */
export function createAuthMetrics (redis: Redis) {
  const base = createAppMetrics()
  const { registry } = base
  const logins = new Counter({ name: 'ratchet_auth_logins_total', help: 'Password logins by result (success, failure: wrong credentials, throttled: refused by the backoff or a limit)', labelNames: ['result'] as const, registers: [registry] })
  const refreshes = new Counter({ name: 'ratchet_auth_refreshes_total', help: 'Refresh-token uses by result (rotated, grace: the predecessor within the grace window, reuse: theft detected, invalid)', labelNames: ['result'] as const, registers: [registry] })
  const reuse = new Counter({ name: 'ratchet_auth_refresh_reuse_detections_total', help: 'Rotated-out refresh tokens presented again: the session was revoked', registers: [registry] })
  const revocations = new Counter({ name: 'ratchet_auth_revocations_total', help: 'Revocations this instance decided (written to the outbox), by kind and reason', labelNames: ['kind', 'reason'] as const, registers: [registry] })
  // series exist from the start, so rate() and alerts see a 0 rather than nothing
  for (const result of Object.values(LOGIN_RESULTS)) logins.inc({ result }, 0)
  for (const result of ['rotated', 'grace', 'reuse', 'invalid']) refreshes.inc({ result }, 0)

  counterFrom(registry, 'ratchet_auth_events_published_total', 'Outbox entries the stream acknowledged (process-wide, duplicates included)', () => eventCounters.published)
  counterFrom(registry, 'ratchet_auth_events_duplicates_total', 'Of those, entries the stream already held under the same id', () => eventCounters.duplicates)
  counterFrom(registry, 'ratchet_auth_events_publish_failures_total', 'Publish attempts that failed and were left for a retry', () => eventCounters.publishFailures)
  counterFrom(registry, 'ratchet_auth_events_applied_total', 'Revocation events from the stream applied to the session store', () => eventCounters.applied)
  counterFrom(registry, 'ratchet_auth_events_skipped_total', 'Malformed events acknowledged without acting on them', () => eventCounters.skipped)
  counterFrom(registry, 'ratchet_auth_events_retried_total', 'Events handed back because the session store failed', () => eventCounters.retried)

  // the client adds REDIS_PREFIX itself: pass the bare key, or the prefix doubles
  const outbox = redisKeys.outbox()
  gaugeFrom(registry, 'ratchet_auth_outbox_depth', 'Events in the Redis outbox not yet published to NATS (NaN: Redis unreachable)', async () => {
    return await redis.xlen(outbox).catch(() => undefined)
  })
  gaugeFrom(registry, 'ratchet_auth_outbox_oldest_age_seconds', 'Age of the oldest unpublished outbox event, 0 when empty (NaN: Redis unreachable)', async () => {
    const first = await redis.xrange(outbox, '-', '+', 'COUNT', 1).catch(() => undefined)
    if (first === undefined) return undefined
    const id = first[0]?.[0]
    return id === undefined ? 0 : Math.max(0, (Date.now() - entryTime(id)) / 1000)
  })

  return {
    ...base,
    login (status: number): void {
      const result = LOGIN_RESULTS[status]
      if (result !== undefined) logins.inc({ result })
    },
    refresh (result: RefreshResult): void { refreshes.inc({ result }) },
    /** tokens/service.ts' security events, which app.ts also logs */
    securityEvent (event: string, detail: Record<string, unknown>): void {
      if (event === 'refresh_token_reuse') reuse.inc()
      else if (event === 'session_revoked' || event === 'user_revoked') {
        revocations.inc({ kind: event === 'session_revoked' ? 'session' : 'user', reason: String(detail.reason ?? 'unknown') })
      }
    }
  }
}

export type AuthMetrics = ReturnType<typeof createAuthMetrics>
