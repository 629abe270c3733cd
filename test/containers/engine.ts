import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * Whether a container engine answers, and if not, why (one line). Container tests
 * skip with this reason instead of failing where no engine can run, so a skip is
 * visible in the output and never counted as a pass.
 */
export async function engineUnavailable (): Promise<string | false> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 15_000 })
    return false
  } catch (err) {
    const e = err as { code?: string, stderr?: string, message: string }
    if (e.code === 'ENOENT') return 'container engine unavailable: no docker CLI on PATH'
    const detail = (e.stderr ?? e.message).trim().split('\n').filter(Boolean).pop() ?? e.message
    return `container engine unavailable: ${detail}`
  }
}
