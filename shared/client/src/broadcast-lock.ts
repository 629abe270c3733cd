import { localLock, type RefreshLock } from './lock.js'

/** Options of {@link broadcastLock}. */
export interface BroadcastLockOptions {
  /** How long a claimant listens for earlier claims before it takes the lock (ms). */
  settleMs?: number
  /** A claim older than this is taken for a closed tab's and ignored (ms). */
  staleMs?: number
}

interface Claim { t: 'claim' | 'release', id: string, at: number }

/**
 * A best-effort lock across tabs for browsers without Web Locks, over a
 * BroadcastChannel. Each claimant announces a claim stamped with the time, listens
 * for `settleMs`, and holds the lock once no earlier unreleased claim is known (ties
 * broken by id); a claimant answers a claim it has not seen with its own, so a tab
 * that opens late learns who is ahead of it. Messages can race in rare cases; the
 * auth service's reuse grace window (a racing refresh gets the same successor) is
 * the safety net, this lock only keeps the races rare.
 */
export function broadcastLock (name: string, opts: BroadcastLockOptions = {}): RefreshLock & { close (): void } {
  const settleMs = opts.settleMs ?? 40
  const staleMs = opts.staleMs ?? 10_000
  const id = Math.random().toString(36).slice(2) + Date.now().toString(36)
  const channel = new BroadcastChannel(name)
  // in Node an open channel would keep the process alive; browsers have no unref
  ;(channel as { unref?: () => void }).unref?.()
  const others = new Map<string, number>()
  const waiters = new Set<() => void>()
  const local = localLock()
  let mine: number | null = null

  channel.onmessage = (event: MessageEvent<unknown>) => {
    const m = event.data as Partial<Claim> | null
    if (m === null || typeof m !== 'object' || typeof m.id !== 'string' || typeof m.at !== 'number') return
    if (m.t === 'claim') {
      const known = others.get(m.id) === m.at
      others.set(m.id, m.at)
      if (!known && mine !== null) post('claim', mine)
    } else if (m.t === 'release') {
      others.delete(m.id)
    }
    for (const wake of waiters) wake()
  }

  function post (t: Claim['t'], at: number): void {
    channel.postMessage({ t, id, at } satisfies Claim)
  }

  function someoneAhead (at: number): boolean {
    const now = Date.now()
    for (const [other, theirs] of others) {
      if (now - theirs > staleMs) { others.delete(other); continue }
      if (theirs < at || (theirs === at && other < id)) return true
    }
    return false
  }

  function nextMessage (ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => { clearTimeout(timer); waiters.delete(done); resolve() }
      const timer = setTimeout(done, ms)
      waiters.add(done)
    })
  }

  async function acquire (): Promise<void> {
    const at = Date.now()
    mine = at
    post('claim', at)
    await new Promise((resolve) => setTimeout(resolve, settleMs))
    while (someoneAhead(at)) await nextMessage(staleMs)
  }

  return {
    run<T> (fn: () => Promise<T>): Promise<T> {
      return local.run(async () => {
        await acquire()
        try {
          return await fn()
        } finally {
          post('release', mine ?? 0)
          mine = null
        }
      })
    },
    close () {
      for (const wake of waiters) wake()
      channel.close()
    },
    async waiting () {
      const now = Date.now()
      for (const [other, at] of others) if (now - at > staleMs) others.delete(other)
      return others.size
    }
  }
}
