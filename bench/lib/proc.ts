import { spawn, type ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { onCpu } from './cpu.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** A child process of the bench (a server under test, a reference, a probe). */
export interface Child {
  name: string
  proc: ChildProcess
  /** Lines the child printed on stdout as JSON objects (references report through these). */
  messages: Array<Record<string, unknown>>
  /** The last lines of output, shown when the child fails. */
  tail: () => string
  stop: () => Promise<void>
}

/** Every command line the bench ran, for the report (paths relative to the repository). */
export const commandLines = new Set<string>()

// Children still running when the driver exits (an error, Ctrl-C) are killed with it.
const live = new Set<ChildProcess>()
process.on('exit', () => { for (const p of live) p.kill('SIGKILL') })

// the tests' own: one way to find a free port
export { freePort } from '../../shared/test/helpers.js'

export interface StartOptions {
  cpu: number
  env?: Record<string, string>
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[]
  cwd?: string
}

/** Runs `node [flags] script` pinned to a core. TypeScript scripts go through tsx's loader. */
export function startNode (name: string, script: string, opts: StartOptions): Child {
  const flags = [...(opts.nodeArgs ?? []), ...(script.endsWith('.ts') ? ['--import', 'tsx'] : [])]
  const [cmd, args] = onCpu(opts.cpu, process.execPath, [...flags, script])
  commandLines.add([cmd === process.execPath ? 'node' : cmd, ...args].map((a) => a === process.execPath ? 'node' : a.startsWith(ROOT) ? a.slice(ROOT.length) : a).join(' '))
  const proc = spawn(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  live.add(proc)
  proc.once('exit', () => live.delete(proc))
  const lines: string[] = []
  const messages: Array<Record<string, unknown>> = []
  const keep = (chunk: Buffer, parse: boolean): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue
      lines.push(line)
      if (lines.length > 40) lines.shift()
      if (parse && line.startsWith('{"bench"')) {
        try { messages.push(JSON.parse(line) as Record<string, unknown>) } catch { /* a partial line; the child's own logs are not ours */ }
      }
    }
  }
  proc.stdout?.on('data', (c: Buffer) => keep(c, true))
  proc.stderr?.on('data', (c: Buffer) => keep(c, false))
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  return {
    name,
    proc,
    messages,
    tail: () => lines.join('\n'),
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      const done = await Promise.race([exited.then(() => true), sleep(8000).then(() => false)])
      if (!done) { proc.kill('SIGKILL'); await exited }
    }
  }
}

function assertAlive (child: Child): void {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
    throw new Error(`${child.name} exited (${child.proc.exitCode ?? child.proc.signalCode}):\n${child.tail()}`)
  }
}

/** Waits for the child's `{"bench":...}` message whose `bench` field equals `kind`. */
export async function waitMessage (child: Child, kind: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const msg = child.messages.find((m) => m.bench === kind)
    if (msg) return msg
    assertAlive(child)
    if (Date.now() > deadline) throw new Error(`${child.name}: no "${kind}" message within ${timeoutMs} ms:\n${child.tail()}`)
    await sleep(20)
  }
}

/** Waits for a one-shot child's message, then stops the child whatever happened. */
export async function resultOf (child: Child, kind: string, timeoutMs: number): Promise<Record<string, unknown>> {
  try {
    return await waitMessage(child, kind, timeoutMs)
  } finally {
    await child.stop()
  }
}

/** Polls a URL until it answers 200 (e.g. /health/ready). */
export async function waitHttp (child: Child, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    assertAlive(child)
    try {
      const res = await fetch(url)
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${child.name}: ${url} not ready within ${timeoutMs} ms:\n${child.tail()}`)
    await sleep(50)
  }
}

/** Prints one JSON line for the parent (used by the reference scripts). */
export function tell (kind: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ bench: kind, ...data }) + '\n')
}
