/** What each scenario hands to the report writer and the chart. */

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

/** A figure that could not be measured (NaN, a division by a zero reference) never meets its target. */
export const met = (t: Target): boolean => Number.isFinite(t.measured) && (t.cmp === '>=' ? t.measured >= t.goal : t.measured <= t.goal)
