import { createServer } from 'node:http'
import { LOAD_CPU, SERVER_CPU } from '../lib/cpu.js'
import { login, pool, signup } from '../lib/api.js'
import type { Ctx } from '../lib/context.js'
import { newSection, type Section } from '../lib/model.js'
import { ensureStream, startService } from '../lib/services.js'
import { percentiles } from '../lib/stats.js'
import { freePort } from '../lib/proc.js'

const RECEIVER = 'bench:bench-secret'

/**
 * Scenario 6: time from the logout response to the Shared Signals SET for that
 * session arriving at a receiver (RFC 8935 push) on loopback. One logout at a
 * time; the receiver answers 202 at once and reads the SET's sid (decoded, not
 * verified: the figure is the transmitter's, not a receiver's JOSE library).
 */
export async function signalsScenario (ctx: Ctx): Promise<Section> {
  const { log, env } = ctx
  const count = ctx.smoke ? 20 : 100
  const timeoutMs = 5000
  const section = newSection('6', 'Shared Signals delivery, logout → SET received', [
    `${count} logouts (POST /v1/logout with the access token), one at a time; auth on CPU ${SERVER_CPU}, the receiver and the driver on CPU ${LOAD_CPU}`,
    'the path: outbox in Redis → relay → NATS → the auth-signals consumer → a SET queued in Redis → pushed to the receiver, which answers 202',
    'the figure is the time from the end of the logout response to the SET naming that session arriving at the receiver'
  ])
  const waiting = new Map<string, (at: number) => void>()
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const at = performance.now()
      res.writeHead(202).end()
      const payload = JSON.parse(Buffer.from(Buffer.concat(chunks).toString().split('.')[1] ?? '', 'base64url').toString()) as { sub_id?: { session?: { id?: string } } }
      const sid = payload.sub_id?.session?.id
      if (sid !== undefined) waiting.get(sid)?.(at)
    })
  })
  const receiverPort = await freePort()
  await new Promise<void>((resolve) => receiver.listen(receiverPort, '127.0.0.1', resolve))
  await ensureStream(env)
  const authPort = await freePort()
  const issuer = `http://127.0.0.1:${authPort}`
  const auth = await startService('auth', env, { cpu: SERVER_CPU, port: authPort, extra: { ISSUER: issuer, SSF_RECEIVERS: RECEIVER } })
  try {
    const created = await fetch(`${auth.url}/ssf/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(RECEIVER).toString('base64')}` },
      body: JSON.stringify({ delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: `http://127.0.0.1:${receiverPort}/ssf` } })
    })
    if (created.status !== 201) throw new Error(`stream creation answered ${created.status}`)
    log(`  creating ${count} sessions`)
    const users = await pool(Array.from({ length: 10 }), 4, async () => (await signup(auth.url)).user.email)
    const sessions = await pool(Array.from({ length: count }), 4, async (_, i) => (await login(auth.url, users[i % users.length]!)).access_token)
    const delays: number[] = []
    let timeouts = 0
    for (const token of sessions) {
      const sid = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sid: string }).sid
      let settle: (at: number | undefined) => void = () => {}
      const arrived = new Promise<number | undefined>((resolve) => { settle = resolve })
      waiting.set(sid, settle)
      const timer = setTimeout(() => settle(undefined), timeoutMs)
      const res = await fetch(`${auth.url}/v1/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
      await res.arrayBuffer()
      const t0 = performance.now()
      if (res.status !== 204) throw new Error(`logout answered ${res.status}`)
      const at = await arrived
      clearTimeout(timer)
      waiting.delete(sid)
      // a SET can beat the end of the logout response: that counts as 0
      if (at === undefined) timeouts++
      else delays.push(Math.max(0, at - t0))
    }
    const [p50 = NaN, p99 = NaN, max = NaN] = percentiles(delays, [50, 99, 100])
    section.rows.push({ name: 'logout → SET received', role: 'product', p50, p99 })
    section.tables = [[
      ['logouts', 'p50 ms', 'p99 ms', 'max ms', `no SET within ${timeoutMs} ms`],
      [String(count), p50.toFixed(2), p99.toFixed(2), max.toFixed(2), String(timeouts)]
    ]]
    section.targets.push({ what: 'SET delivery p99', measured: timeouts > 0 ? Infinity : p99, goal: 50, cmp: '<=', unit: 'ms' })
    if (timeouts > 0) section.notes.push(`${timeouts} SETs did not arrive within ${timeoutMs} ms.`)
    return section
  } finally {
    await auth.stop()
    await new Promise<void>((resolve) => receiver.close(() => resolve()))
  }
}
