/**
 * `npm run bench`: measures what users care about next to a reference measured in
 * the same run, and writes bench/RESULTS.md and bench/results.svg.
 *
 *   npm run bench                 full run (several minutes, seeds 1M sessions)
 *   npm run bench -- --smoke      one short round of everything (CI); report in bench/out/
 *   npm run bench -- --only=1,4   some scenarios only
 *   npm run bench -- --profile    also write --cpu-prof profiles of the product to bench/out/
 *   npm run bench -- --crosscheck also measure scenario 1's bare and 1a loads with autocannon
 *   npm run bench -- --rounds=3 --duration=5 --warmup=1   change the plan
 *
 * It never fails on a number; it exits non-zero only when a scenario could not run.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { LOAD_CPU, pinning } from './lib/cpu.js'
import type { Ctx } from './lib/context.js'
import type { Plan } from './lib/load.js'
import { describeMachine } from './lib/machine.js'
import { met, newSection, type Section } from './lib/model.js'
import { newProfiles, summarise } from './lib/profile.js'
import { commandLines, ROOT } from './lib/proc.js'
import { renderReport } from './lib/report.js'
import { benchEnv, cleanup, productBuilt } from './lib/services.js'
import { renderSvg } from './lib/svg.js'
import { resourceScenario } from './scenarios/resource.js'
import { refreshScenario } from './scenarios/refresh.js'
import { loginScenario } from './scenarios/login.js'
import { revocationScenario } from './scenarios/revocation.js'
import { memoryScenario } from './scenarios/memory.js'
import { signalsScenario } from './scenarios/signals.js'
import { dpopScenario } from './scenarios/dpop.js'

const args = process.argv.slice(2)
const smoke = args.includes('--smoke')
const profile = args.includes('--profile')
const crosscheck = args.includes('--crosscheck')
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',')

// The driver and autocannon run on the load generator's core; servers pin themselves.
if (pinning && process.env.BENCH_PINNED !== '1') {
  const r = spawnSync('taskset', ['-c', String(LOAD_CPU), process.execPath, ...process.execArgv, process.argv[1]!, ...args],
    { stdio: 'inherit', env: { ...process.env, BENCH_PINNED: '1' } })
  process.exit(r.status ?? 1)
}

const flag = (name: string): number | undefined => {
  const v = args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
  return v === undefined ? undefined : Number(v)
}
const base: Plan = smoke ? { warmupSec: 0.5, rounds: 1, durationSec: 1.5 } : { warmupSec: 3, rounds: 5, durationSec: 8 }
const plan: Plan = { warmupSec: flag('warmup') ?? base.warmupSec, rounds: flag('rounds') ?? base.rounds, durationSec: flag('duration') ?? base.durationSec }
const outDir = join(ROOT, 'bench', 'out')
mkdirSync(outDir, { recursive: true })
const log = (line: string): void => { process.stdout.write(line + '\n') }

log('building the services (tsc -b services/auth services/resource)')
try {
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-b', 'services/auth', 'services/resource'], { cwd: ROOT, stdio: 'inherit' })
} catch {
  // A type error elsewhere must not stop a bench of the build that exists.
  if (!productBuilt()) throw new Error('the services are not built and tsc -b failed')
  log('tsc -b failed; measuring the existing dist/ builds')
}

const machineEnv = benchEnv()
const ctx: Ctx = {
  smoke,
  plan,
  env: machineEnv,
  log,
  outDir,
  profile,
  crosscheck,
  profileArgs: (name) => ['--cpu-prof', `--cpu-prof-dir=${outDir}`, `--cpu-prof-name=${name}.cpuprofile`]
}

const scenarios: Array<[string, string, (c: Ctx) => Promise<Section>]> = [
  ['1', 'Resource verification, GET /v1/me', resourceScenario],
  ['2', 'Refresh with rotation, POST /v1/refresh', refreshScenario],
  ['3', 'Login storm', loginScenario],
  ['4', 'Revocation propagation', revocationScenario],
  ['5', 'Memory', memoryScenario],
  ['6', 'Shared Signals delivery', signalsScenario],
  ['7', 'DPoP request at the resource service, GET /v1/me', dpopScenario]
]

let interrupted = false
process.once('SIGINT', () => { interrupted = true; log('interrupted: cleaning up after the current step (Ctrl-C again to quit at once)') })

const sections: Section[] = []
const started = Date.now()
const machine = await describeMachine(machineEnv.base.REDIS_URL!, machineEnv.base.NATS_URL!)
try {
  for (const [id, title, fn] of scenarios) {
    if ((only && !only.includes(id)) || interrupted) continue
    log(`scenario ${id}: ${title}`)
    const t0 = Date.now()
    // Each scenario gets its own Redis prefix and stream, deleted right after it.
    ctx.env = benchEnv()
    const loadBefore = loadavg()
    try {
      const section = await fn(ctx)
      // neighbours' load moves the figures: each section says what it was measured under
      section.setup.push(`load average (1, 5, 15 min) when this scenario started: ${loadBefore.map((l) => l.toFixed(1)).join(', ')}; when it ended: ${loadavg().map((l) => l.toFixed(1)).join(', ')}`)
      for (const file of profile ? newProfiles(outDir, t0) : []) {
        section.notes.push(`CPU profile ${file.slice(ROOT.length)}:`, ...summarise(file))
      }
      sections.push(section)
    } catch (err) {
      log(`  scenario ${id} failed: ${(err as Error).stack ?? String(err)}`)
      sections.push({ ...newSection(id, title, []), error: (err as Error).message })
    } finally {
      const n = await cleanup(ctx.env)
      log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s; deleted ${n} Redis keys under ${ctx.env.prefix} and stream ${ctx.env.stream})`)
    }
  }
} finally {
  log('done')
}

const command = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`
const report = renderReport({
  date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  command,
  machine: [...machine.machine, `load average when it ended: ${loadavg().map((l) => l.toFixed(1)).join(', ')}`],
  versions: machine.versions,
  plan: `Each load: ${plan.warmupSec} s warm-up, then ${plan.rounds} round(s) of ${plan.durationSec} s; the table shows the median round. Total ${((Date.now() - started) / 60000).toFixed(1)} min.`,
  smoke,
  commands: [
    `service environment: ${Object.entries(machineEnv.base).filter(([k]) => !['REDIS_PREFIX', 'NATS_STREAM', 'NATS_SUBJECT_PREFIX'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ')} PORT=<free port> ISSUER=http://127.0.0.1:<auth port>`,
    ...commandLines
  ]
}, sections)
// Only a full run with the default plan replaces the committed report.
const dir = smoke || only || args.some((a) => /^--(rounds|duration|warmup)=/.test(a)) ? outDir : join(ROOT, 'bench')
writeFileSync(join(dir, 'RESULTS.md'), report)
writeFileSync(join(dir, 'results.svg'), renderSvg(sections))
log(`wrote ${join(dir, 'RESULTS.md')} and results.svg`)
for (const s of sections) {
  for (const t of s.targets) log(`  ${s.id} ${met(t) ? 'met   ' : 'MISSED'} ${t.what}: ${t.measured.toFixed(2)} ${t.unit} (goal ${t.cmp} ${t.goal})`)
}
const broken = sections.filter((s) => s.error !== undefined)
if (broken.length > 0) {
  log(`scenarios that could not run: ${broken.map((s) => s.id).join(', ')}`)
  process.exit(1)
}
