/** Small statistics helpers: the bench reports medians of rounds and tail percentiles. */

export function median (values: number[]): number {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Nearest-rank percentile of an already sorted array (p in 0..100). */
export function percentileSorted (sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

export function percentiles (values: ArrayLike<number>, ps: number[]): number[] {
  const sorted = Float64Array.from(values).sort()
  return ps.map((p) => percentileSorted(sorted, p))
}

/** Growable float buffer: latencies are recorded as float milliseconds (autocannon's histogram keeps whole ms only). */
export class Samples {
  private buf = new Float64Array(1 << 16)
  length = 0
  push (v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2)
      next.set(this.buf)
      this.buf = next
    }
    this.buf[this.length++] = v
  }

  values (): Float64Array { return this.buf.subarray(0, this.length) }
}

export const round = (v: number, digits = 2): number => Number.isFinite(v) ? Number(v.toFixed(digits)) : v
