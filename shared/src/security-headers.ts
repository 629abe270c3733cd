import helmet, { type HelmetOptions } from 'helmet'

type HeaderSink = { setHeader: (name: string, value: unknown) => void, removeHeader: (name: string) => void }

/**
 * helmet's headers, computed once. @fastify/helmet builds helmet's middleware
 * again on every request (about 5% of the resource service's CPU at load);
 * with no per-request options the headers are the same every time, so we run
 * helmet once against a recording response and replay what it set.
 */
export function securityHeaders (options?: Readonly<HelmetOptions>): Record<string, string> {
  const headers: Record<string, string> = {}
  const sink: HeaderSink = {
    setHeader: (name, value) => { headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value) },
    removeHeader: (name) => { delete headers[name.toLowerCase()] }
  }
  let failure: unknown
  helmet(options)({} as never, sink as never, (err?: unknown) => { failure = err })
  if (failure !== undefined) throw failure
  return headers
}
