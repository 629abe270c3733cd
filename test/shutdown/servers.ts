import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Socket } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { connect } from 'nats'
import { withDeadline } from '@ratchet/shared'
import { call, eventually, freePort } from '../support.js'

type Test = { teardown: (fn: () => unknown) => void }

/** The hang guard of every close in these tests: far above what a close takes. */
export const HANG_GUARD_MS = 10_000

/** 'closed', or 'hung' when `close` did not finish within the hang guard. */
export async function closeOutcome (close: () => Promise<unknown>): Promise<'closed' | 'hung'> {
  return await withDeadline(close().then(() => 'closed' as const), HANG_GUARD_MS, 'hung' as const)
}

/** A server process of the test's own, which the test may stop, or freeze (SIGSTOP: its connections stay open, unanswered). */
export interface OwnServer { url: string, stop: () => Promise<void>, freeze: () => void }

function ownProcess (t: Test, url: string, command: string, args: string[]): OwnServer {
  const child = spawn(command, args, { stdio: 'ignore' })
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    // SIGKILL ends a frozen process too
    await new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGKILL') })
  }
  t.teardown(stop)
  return { url, stop, freeze: () => { child.kill('SIGSTOP') } }
}

/** A redis-server of the test's own (no persistence). */
export async function ownRedisServer (t: Test): Promise<OwnServer> {
  const port = await freePort()
  const server = ownProcess(t, `redis://127.0.0.1:${port}`, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'])
  await eventually(async () => {
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {}) // a refused probe is the answer, not news
    try { await probe.connect(); return (await probe.ping()) === 'PONG' ? true : undefined } catch { return undefined } finally { probe.disconnect() }
  }, 10000, 50)
  return server
}

/** A nats-server with JetStream of the test's own, its store in a temporary folder. */
export async function ownNatsServer (t: Test): Promise<OwnServer> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-nats-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const server = ownProcess(t, `nats://127.0.0.1:${port}`, process.env.NATS_SERVER_BIN ?? 'nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)])
  await eventually(async () => {
    const nc = await connect({ servers: server.url, timeout: 500 }).catch(() => undefined)
    if (nc === undefined) return undefined
    await nc.close()
    return true
  }, 10000, 50)
  return server
}

/** A port that accepts connections and never answers: an unreachable JWKS (or any HTTP peer). */
export async function blackhole (t: Test): Promise<{ url: string, accepted: () => number, closed: () => number }> {
  const sockets = new Set<Socket>()
  let accepted = 0
  let closed = 0
  const server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => { closed++; sockets.delete(socket) })
    socket.on('error', () => {})
    // read (and ignore) the request, so the client's end of the connection is seen
    socket.resume()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, accepted: () => accepted, closed: () => closed }
}

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface ServiceProcess {
  url: string
  /** sends SIGTERM; resolves with the exit code, or 'hung' past the hang guard */
  terminate: () => Promise<number | 'hung'>
  output: () => string
}

/** A service's server.ts in a process of its own (from sources, as the tests run), live when this returns. */
export async function spawnService (t: Test, service: 'auth' | 'resource', env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, ['--import=tsx', '--conditions=ratchet-source', `services/${service}/src/server.ts`], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const keep = (chunk: Buffer): void => { output = (output + chunk.toString()).slice(-8000) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<number>((resolve) => { child.once('exit', (code) => { resolve(code ?? -1) }) })
  t.teardown(async () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); await exited })
  const url = `http://127.0.0.1:${port}`
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`${service} exited at start: ${output}`)
    return (await call(`${url}/health/live`).catch(() => undefined))?.status === 200 ? true : undefined
  }, 60_000, 100)
  return {
    url,
    output: () => output,
    terminate: async () => {
      child.kill('SIGTERM')
      return await withDeadline(exited, HANG_GUARD_MS + 5000, 'hung' as const)
    }
  }
}
