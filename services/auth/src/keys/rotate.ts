import { readFile, rename, writeFile } from 'node:fs/promises'
import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { AccessTokenAlg, AuthConfig } from '@ratchet/shared'
import { generateAccessKey, generateRefreshKey, parseKeySet, type KeySet } from './jwk.js'
import { publishedAccessKeys } from './ring.js'
import { loadSharedKeySet } from '../stores/signing-keys.js'

type KeyTimes = Pick<AuthConfig, 'ACCESS_TOKEN_ALG' | 'ACCESS_TOKEN_TTL' | 'CLOCK_LEEWAY' | 'KEY_PUBLISH_DELAY' | 'KEY_RELOAD_INTERVAL'>

export interface RotationPolicy {
  alg: AccessTokenAlg
  /** a new key is published this long before it signs (ms) */
  publishDelayMs: number
  /** a replaced key stays published this long after its successor starts signing (ms) */
  retainMs: number
}

/**
 * How long a replaced key must stay published: an access token's lifetime and
 * the clock leeway, plus one reload interval, because an instance keeps
 * signing with the old key until its next reload notices the new one.
 */
export function retentionMs (config: Pick<KeyTimes, 'ACCESS_TOKEN_TTL' | 'CLOCK_LEEWAY' | 'KEY_RELOAD_INTERVAL'>): number {
  return (config.ACCESS_TOKEN_TTL + config.CLOCK_LEEWAY + config.KEY_RELOAD_INTERVAL) * 1000
}

export function rotationPolicy (config: KeyTimes): RotationPolicy {
  return { alg: config.ACCESS_TOKEN_ALG, publishDelayMs: config.KEY_PUBLISH_DELAY * 1000, retainMs: retentionMs(config) }
}

/** Drops the access keys no live token can have been signed with. Refresh keys are kept: refresh tokens live for months. */
export function prune (set: KeySet, now: number, retainMs: number): KeySet {
  const keep = new Set(publishedAccessKeys(set, now, retainMs).map((k) => k.kid))
  return { access: set.access.filter((k) => keep.has(k.kid)), refresh: set.refresh }
}

/** The set with a new access key that is published now and signs from now + the publish delay, and old keys pruned. */
export function rotateSet (set: KeySet, policy: RotationPolicy, now: number): KeySet {
  const next = prune(set, now, policy.retainMs)
  next.access.push(generateAccessKey(policy.alg, now, now + policy.publishDelayMs))
  return next
}

export interface RotationResult { added?: string, removed: string[], keys: Array<{ kid: string, alg: string, notBefore: string }> }

function summary (before: KeySet, after: KeySet, added?: string): RotationResult {
  const kept = new Set(after.access.map((k) => k.kid))
  // kids and times only: private members never reach a log or a terminal
  return {
    ...(added !== undefined ? { added } : {}),
    removed: before.access.filter((k) => !kept.has(k.kid)).map((k) => k.kid),
    keys: after.access.map((k) => ({ kid: k.kid, alg: k.alg, notBefore: new Date(k.notBefore).toISOString() }))
  }
}

/**
 * Rotates (or, with `due` returning false, only prunes) the key set shared
 * through Redis. The change is a compare-and-set on the stored set, so two
 * instances deciding at once add one key, not two: `due` is asked again on
 * every attempt, against what is stored then.
 */
export async function rotateShared (redis: Redis, policy: RotationPolicy, now: number, due: (set: KeySet) => boolean = () => true): Promise<RotationResult | undefined> {
  let before: KeySet | undefined
  let after: KeySet | undefined
  let added: string | undefined
  await loadSharedKeySet(redis, policy.alg, now, (set) => {
    before = structuredClone(set)
    const rotate = due(set)
    const next = rotate ? rotateSet(set, policy, now) : prune(set, now, policy.retainMs)
    added = rotate ? next.access.at(-1)?.kid : undefined
    after = rotate || next.access.length !== set.access.length ? next : undefined
    return after
  })
  return before !== undefined && after !== undefined ? summary(before, after, added) : undefined
}

/** Rotates a SIGNING_KEYS_FILE in place (written whole, then renamed, owner-only). */
export async function rotateFile (path: string, policy: RotationPolicy, now: number): Promise<RotationResult> {
  const before = parseKeySet(await readFile(path, 'utf8'), path)
  const after = rotateSet(structuredClone(before), policy, now)
  await writeFile(`${path}.tmp`, JSON.stringify(after, null, 2) + '\n', { mode: 0o600 })
  await rename(`${path}.tmp`, path)
  return summary(before, after, after.access.at(-1)?.kid)
}

/** A fresh key set for SIGNING_KEYS_FILE: one access key signing at once and one refresh key. */
export function generateKeySet (alg: AccessTokenAlg, now: number): KeySet {
  return { access: [generateAccessKey(alg, now)], refresh: [generateRefreshKey(now)] }
}

/** True when the newest key of `alg` began (or will begin) signing more than `intervalMs` before the next key would. */
export function rotationDue (set: KeySet, policy: RotationPolicy, intervalMs: number, now: number): boolean {
  const newest = Math.max(...set.access.filter((k) => k.alg === policy.alg).map((k) => k.notBefore))
  return newest + intervalMs <= now + policy.publishDelayMs
}

/**
 * KEY_ROTATION_INTERVAL > 0: every instance checks on each reload whether a
 * new key is due and adds it (one instance wins the compare-and-set), then
 * reloads. Keys from a file are the operator's and are never rotated here.
 */
export function startKeyRotation (config: AuthConfig, redis: Redis, reload: () => Promise<void>, log: FastifyBaseLogger, now: () => number) {
  if (config.KEY_ROTATION_INTERVAL === 0) return { stop: () => {} }
  if (config.SIGNING_KEYS_FILE !== '') {
    log.warn('KEY_ROTATION_INTERVAL is ignored with SIGNING_KEYS_FILE; rotate the file with npm run keys:rotate -- --file')
    return { stop: () => {} }
  }
  const policy = rotationPolicy(config)
  const intervalMs = config.KEY_ROTATION_INTERVAL * 1000
  async function tick () {
    const t = now()
    const result = await rotateShared(redis, policy, t, (set) => rotationDue(set, policy, intervalMs, t))
    if (result === undefined) return
    if (result.added !== undefined) log.info({ kid: result.added, removed: result.removed }, 'added a signing key; it signs after the publish delay')
    else log.info({ removed: result.removed }, 'pruned retired signing keys')
    await reload()
  }
  const timer = setInterval(() => {
    tick().catch((err: Error) => { log.warn({ reason: err.message }, 'scheduled key rotation failed; will try again') })
  }, config.KEY_RELOAD_INTERVAL * 1000)
  timer.unref()
  return { stop: () => { clearInterval(timer) } }
}
