import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'
import { call, dropPrefix, dropStream, eventually, freePort, isolation, signUp } from '../helpers.js'
import { basic, createStream, startReceiver } from './receiver.js'

// two cold starts of a TypeScript child on a busy machine, and a lease to run out: more than the default file limit
t.setTimeout(240_000)

const serverTs = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

/** The auth service as a real child process, so it can be killed outright. */
function startChild (env: Record<string, string>): { child: ChildProcess, output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=ratchet-source', serverTs], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const keep = (c: Buffer): void => { out = (out + c.toString()).slice(-4000) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return { child, output: () => out }
}

async function kill (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

t.test('the auth service killed mid-backlog and started again delivers the rest, each under one jti', async (t) => {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const iso = isolation()
  const env = {
    ...iso,
    PORT: String(port),
    ISSUER: issuer,
    LOG_LEVEL: 'warn',
    RATE_LIMITS: 'off',
    SSF_RECEIVERS: 'gw:gw-secret',
    SSF_DELIVERY_TIMEOUT: '3',
    SSF_RETRY_MAX_INTERVAL: '1'
  }
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  t.teardown(async () => {
    await dropStream(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', iso.NATS_STREAM)
    await dropPrefix(redisUrl, iso.REDIS_PREFIX)
  })
  let auth = startChild(env)
  t.teardown(async () => { await kill(auth.child) })
  await eventually(async () => (await call(`${issuer}/health/ready`).catch(() => undefined))?.status === 200 || undefined, 30000, 100)
    .catch((err: Error) => { throw new Error(`${err.message}: ${auth.output()}`) })

  const receiver = await startReceiver(t, { issuer, jwksUrl: `${issuer}/.well-known/jwks.json`, audience: 'gw' })
  // takes five, then is down: the rest wait in the queue
  let taken = 0
  let up = false
  receiver.answer(() => (up || taken++ < 5) ? 202 : 503)
  const stream = await createStream(issuer, basic('gw', 'gw-secret'), receiver.url)
  const users = await Promise.all(Array.from({ length: 20 }, async () => await signUp(issuer)))
  for (const u of users) t.equal((await call(`${issuer}/v1/logout`, { method: 'POST', token: u.access })).status, 204)
  const sids = new Set(users.map((u) => u.sid))
  const ours = () => receiver.accepted.filter((s) => sids.has(String(s.payload.sub_id?.session?.id)))

  const redis = new Redis(redisUrl, { keyPrefix: iso.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  // a backlog: five delivered, fifteen queued behind a receiver that refuses them
  await eventually(async () => ours().length === 5 && (await redis.zcard(redisKeys.ssfDue(stream.stream_id))) === 15 ? true : undefined, 15000)
    .catch(async (err: Error) => { throw new Error(`${err.message}: ${ours().length} accepted, ${await redis.zcard(redisKeys.ssfDue(stream.stream_id))} queued, invalid: ${JSON.stringify(receiver.invalid)}`) })
  await kill(auth.child)
  up = true

  auth = startChild(env)
  await eventually(() => ours().length >= 20 || undefined, 30000, 100)
    .catch((err: Error) => { throw new Error(`${err.message}: ${ours().length} delivered; ${auth.output()}`) })
  await eventually(async () => (await redis.zcard(redisKeys.ssfDue(stream.stream_id))) === 0 || undefined, 10000)
  const got = ours()
  // Push is at least once (docs/signals.md): a push that timed out after the
  // receiver took it is pushed again, with the same jti, for the receiver to drop.
  // With this test's 3 s timeout a loaded machine did that (23 pushes for 20
  // sessions once), so "once" is counted by jti, as a receiver counts it.
  const jtis = new Map<string, Set<string>>()
  for (const s of got) {
    const jti = String(s.payload.jti)
    jtis.set(jti, (jtis.get(jti) ?? new Set()).add(String(s.payload.sub_id?.session?.id)))
  }
  if (got.length > jtis.size) t.comment(`${got.length - jtis.size} repeated pushes (a timed-out push sent again)`)
  t.equal(jtis.size, 20, 'twenty SETs delivered')
  t.ok([...jtis.values()].every((sessions) => sessions.size === 1), 'a repeated push is the same SET: one jti, one session')
  t.equal(new Set(got.map((s) => s.payload.sub_id?.session?.id)).size, 20, 'one SET per session')
  t.same(receiver.invalid, [], 'each verified against the JWKS')
})
