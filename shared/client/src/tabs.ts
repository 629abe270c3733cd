import type { StoredTokens } from './storage.js'

/** What the tabs of one origin tell each other about the session they share. */
export type TabMessage =
  /** New tokens, from the tab that got them; `from` is the access token they replace (null after a sign-in or restore). */
  | { t: 'tokens', seq: string, from: string | null, tokens: StoredTokens }
  /** A tab waiting for the refresh lock has taken in `seq`; `n` is how many of the lock's queued requests are its own. */
  | { t: 'ack', seq: string, n: number }
  /** The session `sid` ended: every tab holding it signs out. */
  | { t: 'out', seq: string, sid: string }

export interface TabChannel {
  post (message: TabMessage): void
  close (): void
}

/**
 * A BroadcastChannel between the clients of one auth service in every tab of the
 * origin, or null where there is none. Messages arrive in order from each sender;
 * anything not shaped like a TabMessage is ignored.
 */
export function openTabChannel (name: string, receive: (message: TabMessage) => void): TabChannel | null {
  if (typeof BroadcastChannel !== 'function') return null
  const channel = new BroadcastChannel(name)
  // in Node an open channel would keep the process alive; browsers have no unref
  ;(channel as { unref?: () => void }).unref?.()
  channel.onmessage = (event: MessageEvent<unknown>) => {
    const m = event.data as TabMessage | null
    if (m !== null && typeof m === 'object' && typeof m.t === 'string') receive(m)
  }
  return {
    post: (message) => channel.postMessage(message),
    close: () => channel.close()
  }
}
