import { broadcastLock } from './broadcast-lock.js'
import { localLock, webLocksLock, type RefreshLock } from './lock.js'

/**
 * The best lock the platform offers: Web Locks when present (every current browser,
 * and their workers); else, in a page, a BroadcastChannel protocol; else (Node) a
 * lock for this process only, which is all one process needs.
 */
export function defaultLock (name: string): RefreshLock {
  const g = globalThis as { navigator?: { locks?: LockManager }, document?: unknown }
  if (g.navigator?.locks) return webLocksLock(name, g.navigator.locks)
  if (typeof BroadcastChannel === 'function' && typeof g.document === 'object') return broadcastLock(name)
  return localLock()
}
