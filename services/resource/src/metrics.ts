import { Gauge, type Registry } from 'prom-client'
import { counterFrom, gaugeFrom, labelledCounterFrom } from '@ratchet/shared'
import type { KeyStore } from './keys/store.js'
import type { TokenVerifier } from './tokens/verifier.js'
import type { RevocationList } from './revocations/list.js'
import type { RevocationFollower } from './revocations/follower.js'

export interface MeasuredParts {
  keys: KeyStore
  verifier: TokenVerifier
  revocations: RevocationList
  follower: RevocationFollower
}

/**
 * The resource service's own metrics. The numbers live where the work is done
 * (the key store, the verifier, the revocation follower and list) and are read
 * at scrape time, so the hot path pays an increment and nothing else.
 */
export function registerResourceMetrics (registry: Registry, { keys, verifier, revocations, follower }: MeasuredParts): void {
  counterFrom(registry, 'ratchet_resource_revocations_applied_total', 'Revocation events applied to this instance\'s list (replayed and live)', () => follower.applied)
  counterFrom(registry, 'ratchet_resource_events_skipped_total', 'Malformed events skipped', () => follower.skipped)
  gaugeFrom(registry, 'ratchet_resource_revocations_caught_up', '1 once the replay of stored revocations is done (the service is not ready before)', () => follower.caughtUp ? 1 : 0)
  registry.registerMetric(new Gauge({
    name: 'ratchet_resource_revocation_list_size',
    help: 'Revocations held in memory, by kind (sessions: by sid, users: by sub and auth_time)',
    labelNames: ['kind'] as const,
    registers: [],
    collect () {
      const size = revocations.size
      this.set({ kind: 'sessions' }, size.sessions)
      this.set({ kind: 'users' }, size.users)
    }
  }))
  counterFrom(registry, 'ratchet_resource_jwks_refreshes_total', 'JWKS fetches (scheduled, and for unknown kids)', () => keys.fetches)
  counterFrom(registry, 'ratchet_resource_jwks_refresh_failures_total', 'JWKS fetches that loaded no key (the keys held are kept)', () => keys.fetchFailures)
  gaugeFrom(registry, 'ratchet_resource_jwks_keys', 'Verification keys loaded from the JWKS', () => keys.size)
  labelledCounterFrom(registry, 'ratchet_resource_token_cache_lookups_total', 'Verified-token cache lookups by result (hit: the signature check was skipped)', 'result', () => ({ hit: verifier.cacheHits, miss: verifier.cacheMisses }))
  gaugeFrom(registry, 'ratchet_resource_token_cache_entries', 'Verified tokens held in the cache', () => verifier.cacheSize)
}
