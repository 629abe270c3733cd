/** RFC 9449 error codes. // wire contract */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce'

/**
 * A proof that fails a check of RFC 9449 §4.3 (`invalid_dpop_proof`), or that lacks the
 * server nonce asked for (`use_dpop_nonce`, §8). The message names the failed check and
 * never quotes the proof.
 */
export class DpopProofError extends Error {
  constructor (readonly oauthError: DpopErrorCode, message: string) {
    super(message)
    this.name = 'DpopProofError'
  }
}

export function invalidProof (message: string): DpopProofError {
  return new DpopProofError('invalid_dpop_proof', message)
}
