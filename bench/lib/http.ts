import { Agent, request } from 'node:http'

/** A tiny keep-alive HTTP client for latency probes: less overhead than fetch. */
export function client (base: string) {
  const url = new URL(base)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  return {
    async send (method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
      return await new Promise((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
          res.on('error', reject)
        })
        req.on('error', reject)
        req.end(body)
      })
    },
    close: () => agent.destroy()
  }
}
