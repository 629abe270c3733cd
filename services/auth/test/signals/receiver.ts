import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose'
import { call } from '../helpers.js'

type Test = { teardown: (fn: () => unknown) => void }

export interface ReceivedSet {
  token: string
  header: Record<string, unknown>
  payload: JWTPayload & { sub_id?: Record<string, any>, events?: Record<string, Record<string, any>>, txn?: string }
  /** ms when it arrived */
  at: number
}

export interface Receiver {
  url: string
  /** every SET accepted (answered 202), signature verified */
  accepted: ReceivedSet[]
  /** every POST, accepted or not */
  attempts: number
  /** what the next POST is answered with */
  answer: (fn: (req: IncomingMessage) => number) => void
  /** SETs whose signature or claims did not verify (should stay empty) */
  invalid: string[]
  close: () => Promise<void>
}

/**
 * A real SSF push receiver on a loopback port (RFC 8935): it verifies each
 * SET against the transmitter's JWKS with jose before counting it, and answers
 * what the test says (202 by default).
 */
export async function startReceiver (t: Test, transmitter: { issuer: string, jwksUrl: string, audience: string }): Promise<Receiver> {
  const jwks = createRemoteJWKSet(new URL(transmitter.jwksUrl))
  let answerWith = (_req: IncomingMessage): number => 202
  const server = createServer((req, res) => { handle(req, res).catch(() => { res.destroy() }) })
  const r: Receiver = {
    url: '',
    accepted: [],
    attempts: 0,
    invalid: [],
    answer: (fn) => { answerWith = fn },
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const token = Buffer.concat(chunks).toString('utf8')
    r.attempts++
    const status = answerWith(req)
    const at = Date.now()
    // answer first: the transmitter's timeout is about the receipt, not our JOSE work
    res.writeHead(status, status === 400 ? { 'content-type': 'application/json' } : {})
    res.end(status === 400 ? JSON.stringify({ err: 'invalid_request', description: 'test' }) : undefined)
    if (status !== 202 && status !== 200) return
    if (req.headers['content-type'] !== 'application/secevent+jwt') r.invalid.push(`content-type ${String(req.headers['content-type'])}`)
    try {
      const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: transmitter.issuer, audience: transmitter.audience, typ: 'secevent+jwt' })
      r.accepted.push({ token, header: protectedHeader as Record<string, unknown>, payload, at })
    } catch (err) {
      r.invalid.push((err as Error).message)
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  r.url = `http://127.0.0.1:${port}/events`
  t.teardown(r.close)
  return r
}

export function basic (id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
}

/** Creates the receiver's stream on the auth service; returns its configuration. */
export async function createStream (authUrl: string, credentials: string, endpointUrl: string, extra: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await call(`${authUrl}/ssf/streams`, { body: { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: endpointUrl }, ...extra }, headers: { authorization: credentials } })
  if (res.status !== 201) throw new Error(`stream creation failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}
