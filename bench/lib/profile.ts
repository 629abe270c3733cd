import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
}

/** Where a frame's code lives: a package, the product, node itself, or V8 (GC, idle). */
function owner (url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]!
  if (url.startsWith('node:')) return 'node core'
  const own = /(services\/[^/]+|shared)\/dist\//.exec(url)
  return own ? own[1]! : url
}

/** Self time of a --cpu-prof profile (busy time only), by function and by owner, as report lines. */
export function summarise (file: string, top = 10): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] }
  const byFn = new Map<string, number>()
  const byOwner = new Map<string, number>()
  let total = 0
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0
    // idle time is the server waiting for work: shares are of the busy time only
    if (hits === 0 || n.callFrame.functionName === '(idle)') continue
    total += hits
    const { functionName, url, lineNumber } = n.callFrame
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(services|shared)\//, '$1/')}:${lineNumber + 1}`
    byFn.set(name, (byFn.get(name) ?? 0) + hits)
    const o = owner(url, functionName)
    byOwner.set(o, (byOwner.get(o) ?? 0) + hits)
  }
  const pct = (v: number): string => `${((v / total) * 100).toFixed(1)}%`
  const rank = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
  return [
    `busy self time by owner: ${rank(byOwner).map(([k, v]) => `${k} ${pct(v)}`).join(', ')}`,
    `hottest functions: ${rank(byFn).map(([k, v]) => `\`${k}\` ${pct(v)}`).join(', ')}`
  ]
}

/** Profiles written into `dir` since `since` (ms), newest last. */
export function newProfiles (dir: string, since: number): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= since)
}
