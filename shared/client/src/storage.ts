/** What the client keeps between calls: the current token pair. */
export interface StoredTokens {
  access_token: string
  /** Absent when the auth service keeps the refresh token in an HttpOnly cookie (`refreshTokenIn: 'cookie'`). */
  refresh_token?: string
}

/**
 * Where the client keeps its tokens. It reads them again before every call, so a
 * storage shared by several tabs (localStorage) lets each tab see the others'
 * refreshes. Methods may be synchronous or return promises.
 */
export interface TokenStorage {
  get (): StoredTokens | null | Promise<StoredTokens | null>
  set (tokens: StoredTokens): void | Promise<void>
  clear (): void | Promise<void>
}

/** Keeps tokens in memory: the default; gone when the page or process ends. */
export function memoryStorage (): TokenStorage {
  let tokens: StoredTokens | null = null
  return {
    get: () => tokens,
    set: (next) => { tokens = pick(next) },
    clear: () => { tokens = null }
  }
}

/** The part of the Web Storage API (`localStorage`, `sessionStorage`) the adapter uses. */
export type WebStorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

/**
 * Keeps tokens in a Web Storage object under one key, e.g. `webStorage(localStorage)`,
 * so every tab of the origin shares the session. Anything unreadable under the key
 * counts as no session. (localStorage is readable by any script on the page: an app
 * that fears XSS keeps the memory default and signs in again per tab.)
 */
export function webStorage (store: WebStorageLike, key = 'ratchet.tokens'): TokenStorage {
  return {
    get () {
      const raw = store.getItem(key)
      if (raw === null) return null
      try {
        const value: unknown = JSON.parse(raw)
        return isStoredTokens(value) ? pick(value) : null
      } catch {
        return null
      }
    },
    set (tokens) {
      store.setItem(key, JSON.stringify(pick(tokens)))
    },
    clear () { store.removeItem(key) }
  }
}

function isStoredTokens (value: unknown): value is StoredTokens {
  if (value === null || typeof value !== 'object') return false
  const v = value as Record<string, unknown>
  return typeof v.access_token === 'string' && (v.refresh_token === undefined || typeof v.refresh_token === 'string')
}

/** Copies the two fields and nothing else a caller may have put beside them. */
export function pick (tokens: StoredTokens): StoredTokens {
  return tokens.refresh_token === undefined ? { access_token: tokens.access_token } : { access_token: tokens.access_token, refresh_token: tokens.refresh_token }
}
