import type { LoadSpec } from './load.js'

/**
 * Refresh chains for autocannon. Each chain is a session whose current refresh token
 * waits in a queue; a request takes one, and its response puts the successor back, so
 * a chain is only ever walked by one request at a time (as one client would). A chain
 * that fails is replaced by a spare. A round ends with tokens in flight whose answers
 * are lost: `repair` turns each into a usable token again right away (the product
 * answers a retried token with the same successor within its grace window; the
 * reference, which has no grace, mints a new chain instead of tripping reuse detection).
 */
export class Chains {
  readonly queue: string[]
  readonly inflight = new Set<string>()
  broken = 0

  constructor (tokens: string[], private readonly spares: string[], private readonly repair: (token: string) => Promise<string | undefined>) {
    this.queue = [...tokens]
  }

  spec (url: string, form: boolean, connections: number): LoadSpec {
    return {
      url,
      method: 'POST',
      headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
      connections,
      setupRequest: (req, context) => {
        const rt = this.queue.shift() ?? this.spares.shift() ?? 'none-left'
        context.rt = rt
        this.inflight.add(rt)
        const body = form
          ? `grant_type=refresh_token&client_id=bench&refresh_token=${encodeURIComponent(rt)}`
          : JSON.stringify({ refresh_token: rt })
        return { ...req, body }
      },
      onResponse: (status, body, context) => {
        this.inflight.delete(String(context.rt))
        const next = status === 200 ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : undefined
        if (next !== undefined) { this.queue.push(next); return }
        this.broken++
        const spare = this.spares.shift()
        if (spare !== undefined) this.queue.push(spare)
      }
    }
  }

  /** Between rounds: every token that was in flight is repaired and queued again. */
  async settle (): Promise<void> {
    const lost = [...this.inflight]
    this.inflight.clear()
    const repaired = await Promise.all(lost.map(async (t) => await this.repair(t).catch(() => undefined)))
    for (const t of repaired) {
      const next = t ?? this.spares.shift()
      if (next !== undefined) this.queue.push(next)
      else this.broken++
    }
  }
}
