import { type Row, type Section, met } from './model.js'

const fmt = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ms = (v: number | undefined): string => fmt(v, v !== undefined && v < 10 ? 2 : 1)

function ratio (row: Row, rows: Row[]): string {
  if (!row.vs) return ''
  const ref = rows.find((r) => r.name === row.vs)
  if (!ref?.rps || row.rps === undefined) return ''
  return `${(row.rps / ref.rps).toFixed(2)}× ${ref.name}`
}

const pct = (v: number | undefined): string => v === undefined || !Number.isFinite(v) ? '' : `${(100 * v).toFixed(0)}%`

function rowsTable (rows: Row[]): string[] {
  // the CPU columns show who limited a load: a server near 100% of its core is the
  // limit (as it should be); a load generator near 100% of its own would be
  const cpu = rows.some((r) => r.generator !== undefined)
  const head = ['', 'role', 'req/s', 'ratio', 'p50 ms', 'p99 ms', 'failed', ...(cpu ? ['server µs/req', 'server core', 'load generator core'] : [])]
  const out = [`| ${head.join(' | ')} |`, `| --- | --- | ---: | --- | ---: | ---: | ---: |${cpu ? ' ---: | ---: | --- |' : ''}`]
  for (const r of rows) {
    const cells = [`${r.name}${r.note ? ` (${r.note})` : ''}`, r.role, fmt(r.rps), ratio(r, rows), ms(r.p50), ms(r.p99), String(r.failed ?? '')]
    if (cpu) cells.push(r.usPerReq !== undefined ? fmt(r.usPerReq, 1) : '', pct(r.serverCpu), r.generator !== undefined ? `${r.generator} ${pct(r.generatorCpu)}` : '')
    out.push(`| ${cells.join(' | ')} |`)
  }
  return out
}

function table (t: string[][]): string[] {
  const [head = [], ...body] = t
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)]
}

export interface Meta {
  date: string
  command: string
  machine: string[]
  versions: string[]
  plan: string
  smoke: boolean
  /** Processes the run started, and the environment the services got. */
  commands: string[]
}

export function renderReport (meta: Meta, sections: Section[]): string {
  const lines: string[] = ['# Ratchet benchmark results', '']
  if (meta.smoke) lines.push('> **Smoke run** (one short round): the numbers below only show that the bench works.', '')
  lines.push(
    `Run ${meta.date} with \`${meta.command}\`. ${meta.plan}`,
    '',
    'Every figure is measured next to its reference in the same run, because absolute numbers',
    'drift from run to run on these shared machines: read the ratios. Chart: [results.svg](results.svg).',
    '',
    '## Machine and versions',
    '',
    ...meta.machine.map((m) => `- ${m}`),
    ...meta.versions.map((v) => `- ${v}`),
    '',
    'Processes started (each scenario has its own `REDIS_PREFIX=b<id>:` and `NATS_STREAM=BENCH_<id>`):',
    '',
    '```',
    ...meta.commands,
    '```',
    '',
    '## Targets',
    '',
    '| scenario | target | measured | goal | |',
    '| --- | --- | ---: | ---: | --- |'
  )
  for (const s of sections) {
    if (s.error) { lines.push(`| ${s.id} | (did not run) | | | ✗ error |`); continue }
    for (const t of s.targets) {
      lines.push(`| ${s.id} | ${t.what} | ${fmt(t.measured, 2)} ${t.unit} | ${t.cmp} ${fmt(t.goal, 2)} ${t.unit} | ${met(t) ? '✓ met' : '✗ missed'} |`)
    }
  }
  for (const s of sections) {
    lines.push('', `## ${s.id}. ${s.title}`, '')
    if (s.setup.length > 0) lines.push(...s.setup.map((l) => `- ${l}`), '')
    if (s.error) { lines.push('**Did not run:**', '', '```', s.error, '```'); continue }
    if (s.rows.length > 0) lines.push(...rowsTable(s.rows), '')
    for (const t of s.tables ?? []) lines.push(...table(t), '')
    if (s.targets.length > 0) {
      lines.push(...s.targets.map((t) => `- ${met(t) ? '✓ met' : '✗ missed'}: ${t.what} — ${fmt(t.measured, 2)} ${t.unit} (goal ${t.cmp} ${fmt(t.goal, 2)} ${t.unit})`), '')
    }
    if (s.notes.length > 0) lines.push(...s.notes.map((n) => `> ${n}`), '')
  }
  return lines.join('\n') + '\n'
}
