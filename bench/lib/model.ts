/** What each scenario hands to the report writer and the chart. */
import type { LoadResult } from './load.js'

export interface Row {
  name: string
  role: 'product' | 'reference' | 'bound'
  /** Throughput (req/s, or ops/s for a bound). */
  rps?: number
  p50?: number
  p99?: number
  /** Name of the row this one is divided by in the ratio column. */
  vs?: string
  /** Requests that did not succeed, summed over the rounds (should be 0). */
  failed?: number
  note?: string
  /** server CPU µs per successful request (median round) */
  usPerReq?: number
  /** share of one core: the server under test, and the load generator (name) */
  serverCpu?: number
  generator?: string
  generatorCpu?: number
}

/** A table row from a measured load (median round). */
export function loadRow (name: string, role: Row['role'], r: LoadResult, vs?: string): Row {
  return {
    name,
    role,
    rps: r.rps,
    p50: r.p50,
    p99: r.p99,
    failed: r.failed + r.errors,
    generator: r.generator,
    generatorCpu: r.generatorCpu,
    ...(r.serverUsPerReq !== undefined ? { usPerReq: r.serverUsPerReq, serverCpu: r.serverCpu! } : {}),
    ...(vs !== undefined ? { vs } : {})
  }
}

export interface Target {
  what: string
  measured: number
  goal: number
  cmp: '>=' | '<='
  unit: string
}

export interface Section {
  id: string
  title: string
  /** Layout and parameters, one line each. */
  setup: string[]
  rows: Row[]
  /** Extra tables (e.g. memory figures) as [header, ...rows]. */
  tables?: string[][][]
  targets: Target[]
  notes: string[]
  /** Set when the scenario could not run; the report shows it instead of numbers. */
  error?: string
}

/** A section with its layout lines, to which the scenario adds rows, targets and notes. */
export function newSection (id: string, title: string, setup: string[]): Section {
  return { id, title, setup, rows: [], targets: [], notes: [] }
}

/** A figure that could not be measured (NaN, a division by a zero reference) never meets its target. */
export const met = (t: Target): boolean => Number.isFinite(t.measured) && (t.cmp === '>=' ? t.measured >= t.goal : t.measured <= t.goal)
