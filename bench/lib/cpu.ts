import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'

/**
 * CPU layout of a run. The issue asks for the server under test on one core and the
 * load generator on the other, so numbers from a 2-core machine stay comparable.
 * Without taskset (or with one core) everything runs unpinned and the report says so.
 */
function hasTaskset (): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

// cpus(), not availableParallelism(): the latter follows this process's own affinity,
// which is one core once the driver has pinned itself.
export const pinning = hasTaskset() && cpus().length >= 2

/** Core of the server under test. */
export const SERVER_CPU = 0
/** Core of the load generator (this process), and of secondary services. */
export const LOAD_CPU = 1

/** The command line that runs `cmd args` on `cpu` when pinning is possible. */
export function onCpu (cpu: number, cmd: string, args: string[]): [string, string[]] {
  return pinning ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args]
}
