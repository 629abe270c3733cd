/**
 * Run with --expose-gc: builds the resource service in this process (from its build),
 * publishes `count` session revocations to the run's stream, waits until the service
 * remembers them all, and reports the heap growth per revocation after full GCs.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect, JSONCodec } from 'nats'
import { loadConfig, ResourceEnv, subjects } from '@ratchet/shared'
import { tell } from '../lib/proc.js'

const count = Number(process.env.BENCH_COUNT ?? 10_000)
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')
const heap = (): number => { for (let i = 0; i < 4; i++) gc(); return process.memoryUsage().heapUsed }

/** What this probe uses of the resource service's app (typed here so the bench does not compile the service). */
interface ResourceApp {
  listen: (opts: { host: string, port: number }) => Promise<string>
  close: () => Promise<void>
  revocationFollower: { caughtUp: boolean }
  revocations: { size: { sessions: number } }
}
const { buildApp } = await import(new URL('../../services/resource/dist/app.js', import.meta.url).href) as
  { buildApp: (config: unknown, opts: { logger: false }) => Promise<ResourceApp> }
const config = loadConfig(ResourceEnv)
const app = await buildApp(config, { logger: false })
await app.listen({ host: '127.0.0.1', port: 0 })
const deadline = Date.now() + 60_000
while (!app.revocationFollower.caughtUp) {
  if (Date.now() > deadline) throw new Error('the resource service never caught up with the stream')
  await sleep(20)
}
const base = app.revocations.size.sessions
await sleep(500)
const before = heap()

const nc = await connect({ servers: config.NATS_URL })
const js = nc.jetstream()
const codec = JSONCodec()
const subject = subjects(config.NATS_SUBJECT_PREFIX).sessionRevoked

/** Publishes `n` session revocations and waits until the service remembers them. */
async function revoke (n: number): Promise<void> {
  const target = app.revocations.size.sessions + n
  for (let done = 0; done < n; done += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, n - done) }, async () => {
      const id = randomUUID()
      const event = { id, sid: randomUUID(), sub: randomUUID(), reason: 'logout', at: Date.now() / 1000 }
      await js.publish(subject, codec.encode(event), { msgID: id })
    }))
  }
  const until = Date.now() + 300_000
  while (app.revocations.size.sessions < target) {
    if (Date.now() > until) throw new Error(`only ${app.revocations.size.sessions - base} revocations arrived`)
    await sleep(50)
  }
  await sleep(300)
}

// Two halves: the slope between them cancels what the first events cost once
// (consumer buffers, compiled code), which a small count would otherwise spread thin.
const half = Math.floor(count / 2)
await revoke(half)
const middle = heap()
await revoke(count - half)
const after = heap()
await nc.close()
tell('result', { count, before, middle, after, perRevocation: (after - middle) / (count - half), average: (after - before) / count })
await app.close()
