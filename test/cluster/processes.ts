import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

type Test = { teardown: (fn: () => unknown) => void }

/** A server process this test started: it alone is ever stopped, never the machine's own. */
export interface Server {
  port: number
  process: ChildProcess
  /** the server's output so far, to say why it failed */
  output: () => string
  kill: () => Promise<void>
}

const running = new Set<ChildProcess>()
// a test process that dies without its teardown must not leave servers behind
process.once('exit', () => { for (const p of running) p.kill('SIGKILL') })

async function bindable (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => { resolve(false) })
    srv.listen(port, '127.0.0.1', () => { srv.close(() => { resolve(true) }) })
  })
}

/**
 * A free port below the kernel's ephemeral range (32768 and up). A port the kernel
 * picked (listen on 0) can be taken again at once as the local end of an outgoing
 * connection, e.g. a cluster node dialling its peers, before our server binds it.
 * `alsoFree`: offsets that must be free too (Redis's cluster bus is port + 10000).
 */
export async function quietPort (min: number, max: number, alsoFree: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = min + Math.floor(Math.random() * (max - min))
    if (!await bindable(port)) continue
    if ((await Promise.all(alsoFree.map(async (o) => await bindable(port + o)))).every(Boolean)) return port
  }
  throw new Error(`no free port between ${min} and ${max}`)
}

/**
 * Servers started in a temporary folder; at teardown every server is killed
 * (and waited for) before the folder is removed.
 */
export async function serverGroup (t: Test, name: string): Promise<{ dir: string, start: (command: string, args: string[], port: number) => Server }> {
  const dir = await mkdtemp(join(tmpdir(), `ratchet-${name}-`))
  const servers: Server[] = []
  t.teardown(async () => {
    await Promise.all(servers.map(async (s) => { await s.kill() }))
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  })
  return {
    dir,
    start: (command, args, port) => {
      const server = startServer(command, args, port)
      servers.push(server)
      return server
    }
  }
}

/** Starts `command args`; see serverGroup for the clean-up. */
function startServer (command: string, args: string[], port: number): Server {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let output = ''
  const keep = (chunk: Buffer): void => { output = (output + chunk.toString()).slice(-4000) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => { running.delete(child); resolve() })
    // e.g. the command is not installed: no exit event follows
    child.once('error', (err) => { keep(Buffer.from(err.message)); running.delete(child); resolve() })
  })
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  return { port, process: child, output: () => output, kill }
}
