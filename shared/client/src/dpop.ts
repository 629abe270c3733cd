import { defaultKeyStore, type DpopKeyStore } from './dpop-keys.js'
import type { FetchLike } from './http.js'

/** Options of {@link createDpop}. */
export interface DpopOptions {
  /** Where the key pair lives; IndexedDB in a browser, memory in Node by default. */
  keys?: DpopKeyStore
  /** The clock, in ms since the epoch, for `iat`; `Date.now` by default. */
  now?: () => number
}

/** A DPoP key and what it signs (RFC 9449). */
export interface Dpop {
  /** A proof for one request: `htm`, `htu` (the URL without query and fragment), `iat`, `jti`, and `ath` with an access token. */
  proof (method: string, url: string, accessToken?: string): Promise<string>
  /** The key pair in use (made on first use); its private key is not extractable. */
  keyPair (): Promise<CryptoKeyPair>
  /**
   * Wraps a fetch so every request carries a fresh proof (with `ath` when its
   * Authorization is `DPoP <token>`), remembers each server's `DPoP-Nonce`, and
   * retries once when a server asks for a nonce (`use_dpop_nonce`).
   */
  wrap (fetchFn: FetchLike): FetchLike
  /** Forgets the key (sign-out): the next proof is signed by a new one. */
  reset (): Promise<void>
  /** Drops the key held in memory only: the next proof loads it from the store again (another tab may have replaced it). */
  forget (): void
}

const enc = new TextEncoder()

function b64url (bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

const b64json = (value: unknown): string => b64url(enc.encode(JSON.stringify(value)))

/** Whether an answer asks for a (new) server nonce: §8 (token endpoint, a 400 body) and §9 (a 401 challenge). */
async function asksForNonce (res: Response): Promise<boolean> {
  if (res.status === 401) return /\buse_dpop_nonce\b/.test(res.headers.get('www-authenticate') ?? '')
  if (res.status !== 400) return false
  try {
    const body = await res.clone().json() as { error?: unknown, code?: unknown }
    return body.error === 'use_dpop_nonce' || body.code === 'RATCHET_USE_DPOP_NONCE'
  } catch {
    return false
  }
}

/** Creates a DPoP signer with a non-extractable ECDSA P-256 key (WebCrypto). */
export function createDpop (options: DpopOptions = {}): Dpop {
  const keys = options.keys ?? defaultKeyStore()
  const now = options.now ?? Date.now
  const subtle = globalThis.crypto.subtle
  let pair: Promise<CryptoKeyPair> | undefined
  let header: Promise<string> | undefined
  const nonces = new Map<string, string>() // origin → the nonce its server last sent

  function keyPair (): Promise<CryptoKeyPair> {
    pair ??= (async () => {
      const stored = await keys.load()
      if (stored !== undefined) return stored
      // extractable: false — script (ours, or an attacker's) can sign with it but never export it
      const made = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
      return keys.saveFirst(made)
    })()
    pair.catch(() => { pair = undefined; header = undefined })
    return pair
  }

  function protectedHeader (): Promise<string> {
    header ??= keyPair().then(async (p) => {
      const { kty, crv, x, y } = await subtle.exportKey('jwk', p.publicKey)
      return b64json({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })
    })
    return header
  }

  async function proof (method: string, url: string, accessToken?: string): Promise<string> {
    const u = new URL(url)
    const claims: Record<string, unknown> = {
      jti: globalThis.crypto.randomUUID(),
      htm: method.toUpperCase(),
      htu: `${u.protocol}//${u.host}${u.pathname}`,
      iat: Math.floor(now() / 1000)
    }
    if (accessToken !== undefined) claims.ath = b64url(new Uint8Array(await subtle.digest('SHA-256', enc.encode(accessToken))))
    const nonce = nonces.get(u.origin)
    if (nonce !== undefined) claims.nonce = nonce
    const input = `${await protectedHeader()}.${b64json(claims)}`
    // WebCrypto's ECDSA signature is already R || S, the JWS form (RFC 7518 §3.4)
    const sig = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, (await keyPair()).privateKey, enc.encode(input))
    return `${input}.${b64url(new Uint8Array(sig))}`
  }

  function wrap (fetchFn: FetchLike): FetchLike {
    async function once (request: Request): Promise<Response> {
      const auth = request.headers.get('authorization') ?? ''
      const token = /^dpop /i.test(auth) ? auth.slice(5).trim() : undefined
      request.headers.set('dpop', await proof(request.method, request.url, token))
      const res = await fetchFn(request)
      const nonce = res.headers.get('dpop-nonce')
      if (nonce !== null) nonces.set(new URL(request.url).origin, nonce)
      return res
    }
    return async (input, init) => {
      const request = new Request(input, init)
      const used = nonces.get(new URL(request.url).origin)
      const first = await once(request.clone())
      const fresh = nonces.get(new URL(request.url).origin)
      // retried once, and only when the server named a nonce we did not use: never a loop
      if (fresh === undefined || fresh === used || !await asksForNonce(first)) return first
      await first.body?.cancel().catch(() => {})
      return once(request)
    }
  }

  return {
    proof,
    keyPair,
    wrap,
    async reset () {
      pair = undefined
      header = undefined
      nonces.clear()
      await keys.clear()
    },
    forget () {
      pair = undefined
      header = undefined
    }
  }
}
