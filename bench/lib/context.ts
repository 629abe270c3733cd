import type { Plan } from './load.js'
import type { Env } from './services.js'

/** What every scenario receives from run.ts. */
export interface Ctx {
  smoke: boolean
  plan: Plan
  env: Env
  log: (line: string) => void
  /** Directory for CPU profiles and other artefacts of this run (git-ignored). */
  outDir: string
  /** Take --cpu-prof profiles of the product while measuring. */
  profile: boolean
  /** Also measure scenario 1's fastest loads with autocannon next to wrk (--crosscheck). */
  crosscheck: boolean
  /** node flags that write a CPU profile named `name` into outDir. */
  profileArgs: (name: string) => string[]
}
