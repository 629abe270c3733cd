/** How one push ended. // wire contract: metric label values */
export type PushResult = 'delivered' | 'rejected' | 'unreachable' | 'timeout'

export interface PushOutcome {
  result: PushResult
  /** the receiver's status, when it answered */
  status?: number
  /** why it failed, for the log line (never the SET) */
  reason?: string
}

export interface PushTarget { endpoint_url: string, authorization_header?: string }

/**
 * RFC 8935 §2: POSTs one SET. 202 (or 200) is the receipt; any other answer,
 * a redirect included (never followed, so the URL allow-list cannot be
 * stepped around), is a failure to retry.
 */
export async function pushSet (target: PushTarget, set: string, timeoutMs: number, stop: AbortSignal): Promise<PushOutcome> {
  const headers: Record<string, string> = { 'content-type': 'application/secevent+jwt', accept: 'application/json' }
  if (target.authorization_header !== undefined) headers.authorization = target.authorization_header
  const timeout = AbortSignal.timeout(timeoutMs)
  try {
    const res = await fetch(target.endpoint_url, { method: 'POST', headers, body: set, redirect: 'manual', signal: AbortSignal.any([timeout, stop]) })
    // the body is not needed, and a receiver could make it endless: drop it
    await res.body?.cancel().catch(() => undefined)
    if (res.status === 202 || res.status === 200) return { result: 'delivered', status: res.status }
    return { result: 'rejected', status: res.status, reason: `answered ${res.status}` }
  } catch (err) {
    if (timeout.aborted) return { result: 'timeout', reason: `no answer within ${timeoutMs} ms` }
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    return { result: 'unreachable', reason: cause?.code ?? cause?.message ?? (err as Error).message }
  }
}
