import type { StoredTokens } from './storage.js'

/** What the client announces, by event name. */
export interface ClientEvents {
  /**
   * New tokens were stored: after sign-up, login, a refresh, a `restore()` from the
   * refresh cookie, or when another tab handed over the tokens it got (`tab`).
   */
  tokens: { reason: 'signup' | 'login' | 'refresh' | 'restore' | 'tab', tokens: StoredTokens }
  /**
   * The session ended: `refused` when the auth service refused the refresh token
   * (revoked, expired or replayed session: send the user to the login screen),
   * `logout` after {@link RatchetClient.logout}, `gone` when the tokens vanished from
   * a shared storage (another tab signed out).
   */
  signedout: { reason: 'refused' | 'logout' | 'gone' }
}

export type Listener<K extends keyof ClientEvents> = (detail: ClientEvents[K]) => void

/** A tiny typed emitter; a listener that throws is reported, not allowed to break the client. */
export function createEmitter () {
  const listeners: { [K in keyof ClientEvents]: Set<Listener<K>> } = { tokens: new Set(), signedout: new Set() }
  return {
    on<K extends keyof ClientEvents> (type: K, listener: Listener<K>): () => void {
      const set = listeners[type] as Set<Listener<K>>
      set.add(listener)
      return () => { set.delete(listener) }
    },
    emit<K extends keyof ClientEvents> (type: K, detail: ClientEvents[K]): void {
      for (const listener of listeners[type] as Set<Listener<K>>) {
        try {
          listener(detail)
        } catch (err) {
          // as EventTarget does: surface the error as uncaught without unwinding our caller
          queueMicrotask(() => { throw err })
        }
      }
    }
  }
}
