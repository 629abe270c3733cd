/**
 * Where a DPoP key pair lives. The private key is made non-extractable, so even the
 * page's own script can only use it, never read it; a store keeps the CryptoKey
 * objects themselves (IndexedDB can hold them as they are), never key material.
 */
export interface DpopKeyStore {
  load (): Promise<CryptoKeyPair | undefined>
  /** Saves `pair` unless one is stored already, and returns the one that is stored (so two tabs agree on one key). */
  saveFirst (pair: CryptoKeyPair): Promise<CryptoKeyPair>
  clear (): Promise<void>
}

/** Keeps the key in memory: Node, or a page that wants a new binding per load. */
export function memoryKeyStore (): DpopKeyStore {
  let pair: CryptoKeyPair | undefined
  return {
    load: async () => pair,
    saveFirst: async (next) => { pair ??= next; return pair },
    clear: async () => { pair = undefined }
  }
}

const STORE = 'keys'
const ENTRY = 'dpop'

function request<T> (req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

/**
 * Keeps the key in IndexedDB, so a reload (and every tab of the origin) keeps the
 * binding: the refresh token bound to it stays usable.
 */
export function indexedDbKeyStore (name = 'ratchet-dpop', idb: IDBFactory = globalThis.indexedDB): DpopKeyStore {
  let opened: Promise<IDBDatabase> | undefined
  function db (): Promise<IDBDatabase> {
    opened ??= new Promise((resolve, reject) => {
      const req = idb.open(name, 1)
      req.onupgradeneeded = () => { req.result.createObjectStore(STORE) }
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    return opened
  }
  async function store (mode: IDBTransactionMode): Promise<IDBObjectStore> {
    return (await db()).transaction(STORE, mode).objectStore(STORE)
  }
  return {
    async load () {
      return await request((await store('readonly')).get(ENTRY)) as CryptoKeyPair | undefined
    },
    async saveFirst (pair) {
      try {
        // add, not put: when another tab stored its key first, that one wins
        await request((await store('readwrite')).add(pair, ENTRY))
        return pair
      } catch (err) {
        const stored = await request((await store('readonly')).get(ENTRY)) as CryptoKeyPair | undefined
        if (stored === undefined) throw err
        return stored
      }
    },
    async clear () {
      await request((await store('readwrite')).delete(ENTRY))
    }
  }
}

/** IndexedDB where there is one (a browser), memory elsewhere (Node). */
export function defaultKeyStore (): DpopKeyStore {
  return typeof globalThis.indexedDB !== 'undefined' ? indexedDbKeyStore() : memoryKeyStore()
}
