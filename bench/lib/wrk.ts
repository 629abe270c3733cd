import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onCpu, LOAD_CPU } from './cpu.js'

/**
 * wrk as the load generator of the saturation loads. It is C with one epoll loop
 * per thread and builds each request once (or takes it from a prebuilt list), so
 * it spends a few microseconds of its own core per request where autocannon, in
 * JavaScript in the driver's process, spends 20 to 35: at the rates scenario 1
 * reaches, autocannon runs out of its core before the server does (see README).
 * Each run reports the CPU it used, so a report shows it was not the limit.
 */
let available: boolean | undefined
export function wrkAvailable (): boolean {
  if (available === undefined) {
    try {
      execFileSync('wrk', ['--version'], { stdio: 'ignore' })
      available = true
    } catch (err) {
      // wrk --version exits 1 after printing its banner; only a missing binary is ENOENT
      available = (err as NodeJS.ErrnoException).code !== 'ENOENT'
    }
  }
  return available
}

export interface WrkSpec {
  url: string
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  connections: number
  /** One header whose value changes per request, cycling through `values` (a new token per request). */
  rotate?: { name: string, values: string[] }
}

export interface WrkResult {
  /** responses with status < 400 */
  ok: number
  /** responses with status >= 400 */
  failed: number
  /** connect, read, write errors and timeouts */
  errors: number
  durationSec: number
  p50: number
  p99: number
  /** CPU seconds wrk used (all its threads) */
  cpuSec: number
}

const luaString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`

/**
 * The Lua script of one run: an optional request() over prebuilt requests, and a
 * done() that prints one JSON line (wrk's own summary is for people).
 */
function script (spec: WrkSpec, dir: string): string {
  const lines: string[] = []
  if (spec.rotate !== undefined) {
    const file = join(dir, 'values.txt')
    writeFileSync(file, spec.rotate.values.join('\n') + '\n')
    lines.push(
      'local reqs, n, i = {}, 0, 0',
      'function init (args)',
      '  local headers = {}',
      ...Object.entries(spec.headers ?? {}).map(([k, v]) => `  headers[${luaString(k)}] = ${luaString(v)}`),
      `  for v in io.lines(${luaString(file)}) do`,
      `    headers[${luaString(spec.rotate.name)}] = v`,
      '    n = n + 1',
      '    reqs[n] = wrk.format(nil, nil, headers)',
      '  end',
      'end',
      'function request ()',
      '  i = i % n + 1',
      '  return reqs[i]',
      'end'
    )
  }
  lines.push(
    'function done (summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format(\'{"wrk":1,"requests":%d,"duration_us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"cpu_s":%.3f}\\n\',',
    '    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(99), os.clock()))',
    'end'
  )
  const path = join(dir, 'load.lua')
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

/** One wrk run of `durationSec` on the load generator's core. */
export async function onceWrk (spec: WrkSpec, durationSec: number): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'))
  try {
    const args = ['-t1', `-c${spec.connections}`, `-d${Math.max(1, Math.round(durationSec))}s`, '--timeout', '10s', '-s', script(spec, dir)]
    if (spec.method !== undefined && spec.method !== 'GET') args.push('-m', spec.method)
    if (spec.body !== undefined) args.push('--body', spec.body)
    // wrk.format in request() takes its headers from the script; -H sets them for the static request
    if (spec.rotate === undefined) for (const [k, v] of Object.entries(spec.headers ?? {})) args.push('-H', `${k}: ${v}`)
    args.push(spec.url)
    const [cmd, full] = onCpu(LOAD_CPU, 'wrk', args)
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(cmd, full, { maxBuffer: 1 << 20 }, (err, out, errOut) => {
        if (err) reject(new Error(`wrk failed: ${err.message}\n${errOut}`))
        else resolve(out)
      })
    })
    const line = stdout.split('\n').find((l) => l.startsWith('{"wrk"'))
    if (line === undefined) throw new Error(`wrk printed no summary:\n${stdout}`)
    const r = JSON.parse(line) as Record<string, number>
    return {
      ok: r.requests! - r.status!,
      failed: r.status!,
      errors: r.connect! + r.read! + r.write! + r.timeout!,
      durationSec: r.duration_us! / 1e6,
      p50: r.p50_us! / 1000,
      p99: r.p99_us! / 1000,
      cpuSec: r.cpu_s!
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
