import { spawn, type ChildProcess } from 'node:child_process'
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

/** A temporary folder, removed at teardown. */
export async function tempDir (t: Test, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `ratchet-${name}-`))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/** Starts `command args`; killed (and waited for) at teardown if still running. */
export function startServer (t: Test, command: string, args: string[], port: number): Server {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let output = ''
  const keep = (chunk: Buffer): void => { output = (output + chunk.toString()).slice(-4000) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { running.delete(child); resolve() }) })
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  t.teardown(kill)
  return { port, process: child, output: () => output, kill }
}
