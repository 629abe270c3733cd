/**
 * The Ratchet client SDK: sign up, log in, log out, and a `fetch` that keeps the
 * access token fresh by itself. Plain web APIs only (fetch, BroadcastChannel, Web
 * Locks), so it runs in browsers and in Node 20+. See docs/sdk.md.
 */
export { createClient } from './client.js'
export type { ClientOptions, RatchetClient, SignupResponse } from './client.js'
export { memoryStorage, webStorage } from './storage.js'
export type { StoredTokens, TokenStorage, WebStorageLike } from './storage.js'
export { localLock, webLocksLock } from './lock.js'
export type { RefreshLock } from './lock.js'
export { broadcastLock } from './broadcast-lock.js'
export type { BroadcastLockOptions } from './broadcast-lock.js'
export { defaultLock } from './default-lock.js'
export { CLIENT_ERROR_CODES, RatchetClientError } from './errors.js'
export type { ClientErrorCode } from './errors.js'
export type { ClientEvents, Listener } from './emitter.js'
export type { FetchLike } from './http.js'
export { refreshAt } from './timing.js'
export type { TokenResponse } from './wire.js'
export { createDpop } from './dpop.js'
export type { Dpop, DpopOptions } from './dpop.js'
export { defaultKeyStore, indexedDbKeyStore, memoryKeyStore } from './dpop-keys.js'
export type { DpopKeyStore } from './dpop-keys.js'
