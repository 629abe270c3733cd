import type { Row, Section } from './model.js'

/**
 * A hand-written SVG chart: per scenario, one bar per row for throughput (left) and
 * p50/p99 latency (right). Bars are scaled within their scenario, since logins/s and
 * cached verifications/s differ by three orders of magnitude.
 */
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const num = (v: number): string => v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2)
const COLORS: Record<Row['role'], string> = { product: '#2b6cb0', reference: '#a0aec0', bound: '#ed8936' }

export function renderSvg (sections: Section[]): string {
  const labelW = 250
  const barW = 330
  const gap = 40
  const rowH = 22
  const width = labelW + barW + gap + barW + 20
  const parts: string[] = []
  let y = 40
  parts.push(`<text x="${labelW}" y="24" font-weight="bold">throughput (req/s or ops/s)</text>`)
  parts.push(`<text x="${labelW + barW + gap}" y="24" font-weight="bold">latency p50 (dark) / p99 (light), ms</text>`)
  for (const s of sections) {
    const rows = s.rows.filter((r) => r.rps !== undefined || r.p99 !== undefined)
    if (rows.length === 0) continue
    parts.push(`<text x="4" y="${y + 14}" font-weight="bold">${esc(`${s.id}. ${s.title}`)}</text>`)
    y += 22
    const maxRps = Math.max(...rows.map((r) => r.rps ?? 0), 1)
    const maxLat = Math.max(...rows.map((r) => r.p99 ?? 0), 0.001)
    for (const r of rows) {
      parts.push(`<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(r.name)}</text>`)
      if (r.rps !== undefined && Number.isFinite(r.rps)) {
        const w = Math.max(1, (r.rps / maxRps) * (barW - 70))
        parts.push(`<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[r.role]}"/>`)
        parts.push(`<text x="${(labelW + w + 4).toFixed(1)}" y="${y + 15}">${num(r.rps)}</text>`)
      }
      const x0 = labelW + barW + gap
      if (r.p99 !== undefined && Number.isFinite(r.p99)) {
        const w99 = Math.max(1, (r.p99 / maxLat) * (barW - 90))
        const w50 = r.p50 !== undefined && Number.isFinite(r.p50) ? Math.max(1, (r.p50 / maxLat) * (barW - 90)) : 0
        parts.push(`<rect x="${x0}" y="${y + 3}" width="${w99.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[r.role]}" opacity="0.45"/>`)
        if (w50 > 0) parts.push(`<rect x="${x0}" y="${y + 3}" width="${w50.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[r.role]}"/>`)
        parts.push(`<text x="${(x0 + w99 + 4).toFixed(1)}" y="${y + 15}">${r.p50 !== undefined ? `${num(r.p50)} / ` : ''}${num(r.p99)}</text>`)
      }
      y += rowH
    }
    y += 10
  }
  const legend = (['product', 'reference', 'bound'] as const).map((role, i) =>
    `<rect x="${labelW + i * 120}" y="${y + 4}" width="12" height="12" fill="${COLORS[role]}"/><text x="${labelW + i * 120 + 16}" y="${y + 15}">${role}</text>`).join('')
  y += 30
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif" font-size="12">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n${legend}\n</svg>\n`
}
