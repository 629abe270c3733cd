import type { DpopErrorCode } from './errors.js'

function quote (value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`
}

/**
 * A `WWW-Authenticate: DPoP ...` challenge (RFC 9449 §7.1): `algs` always, so a client
 * learns what to sign with; `error` is one of ours or RFC 6750's.
 */
export function dpopChallenge (opts: { algs: readonly string[], realm?: string, error?: DpopErrorCode | 'invalid_token' | 'invalid_request' | 'insufficient_scope', description?: string, scope?: string }): string {
  const params: string[] = []
  if (opts.realm !== undefined) params.push(`realm=${quote(opts.realm)}`)
  if (opts.error !== undefined) params.push(`error=${quote(opts.error)}`)
  if (opts.description !== undefined) params.push(`error_description=${quote(opts.description)}`)
  if (opts.scope !== undefined) params.push(`scope=${quote(opts.scope)}`)
  params.push(`algs=${quote(opts.algs.join(' '))}`)
  return `DPoP ${params.join(', ')}`
}
