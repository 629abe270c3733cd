import { createSigner } from 'fast-jwt'
import type { KeyRing } from './ring.js'

/**
 * Signs with the ring's current signing key, `typ` in the header: a fast-jwt signer
 * built once per key (the PEM parse is the expensive part, see the README) and built
 * anew when a rotation makes another key current.
 */
export function currentKeySigner<P extends object> (getRing: () => KeyRing, typ: string): (payload: P) => string {
  let current: { kid: string, sign: (payload: P) => string } | undefined
  return (payload) => {
    const ring = getRing()
    const k = ring.signingKey
    if (current?.kid !== k.kid) {
      current = { kid: k.kid, sign: createSigner({ key: ring.signingPem(), algorithm: k.alg, kid: k.kid, header: { alg: k.alg, typ } }) }
    }
    return current.sign(payload)
  }
}
