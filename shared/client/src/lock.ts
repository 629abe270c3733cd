/**
 * A mutual-exclusion lock around refreshes. Holders of the same lock (in one page,
 * or across the tabs of an origin) run their critical sections one at a time.
 */
export interface RefreshLock {
  /** Runs `fn` while holding the lock and returns its result. */
  run<T> (fn: () => Promise<T>): Promise<T>
  /** Releases what the lock holds open (a BroadcastChannel); optional. */
  close? (): void
  /**
   * How many requests for the lock other tabs have queued; optional (a lock for one
   * realm has none). The holder waits until that many have seen the new tokens.
   */
  waiting? (): Promise<number>
}

/** A lock for one JavaScript realm only: calls run one after another. */
export function localLock (): RefreshLock {
  let tail: Promise<unknown> = Promise.resolve()
  return {
    run<T> (fn: () => Promise<T>): Promise<T> {
      const result = tail.then(fn)
      // the next holder waits for this one whether it succeeds or fails
      tail = result.then(noop, noop)
      return result
    }
  }
}

/** A lock shared by every tab and worker of the origin, through the Web Locks API. */
export function webLocksLock (name: string, locks: LockManager): RefreshLock {
  let queued = 0 // our own requests not granted yet, which query() counts too
  return {
    run<T> (fn: () => Promise<T>): Promise<T> {
      queued++
      let granted = false
      const result = locks.request(name, { mode: 'exclusive' }, () => { granted = true; queued--; return fn() }) as Promise<T>
      result.catch(() => { if (!granted) queued-- })
      return result
    },
    async waiting () {
      const { pending = [] } = await locks.query()
      return pending.filter((p) => p.name === name).length - queued
    }
  }
}

function noop (): void {}
