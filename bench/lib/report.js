function cell (value, digits = 2) {
  return value === null || value === undefined ? '-' : typeof value === 'number' ? value.toFixed(digits) : String(value)
}

function pad (rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)))
  return rows.map((row) => row.map((v, c) => c === 0 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c])).join('  ')).join('\n')
}

/** The throughput table, plain text for the terminal. */
export function textTable (rows) {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'baseline', 'ratio', 'target', 'met']
  return pad([header, ...rows.map((r) => [
    r.scenario, cell(r.rps, 0), cell(r.p50), cell(r.p99), cell(r.p999), r.baseline ?? '-',
    cell(r.ratio), r.target === null ? '-' : `>= ${r.target}`, r.met === null ? '-' : r.met ? 'yes' : 'NO'
  ])])
}

/** The same table as Markdown, for docs/performance.md. */
export function markdownTable (rows) {
  const lines = ['| scenario | req/s | p50 ms | p99 ms | p99.9 ms | baseline | ratio | target | met |', '|---|--:|--:|--:|--:|---|--:|--:|---|']
  for (const r of rows) {
    lines.push(`| ${r.scenario} | ${cell(r.rps, 0)} | ${cell(r.p50)} | ${cell(r.p99)} | ${cell(r.p999)} | ${r.baseline ?? '-'} | ${cell(r.ratio)} | ${r.target === null ? '-' : `>= ${r.target}`} | ${r.met === null ? '-' : r.met ? 'yes' : '**no**'} |`)
  }
  return lines.join('\n')
}

export function checksTable (checks) {
  return pad([['check', 'measured', 'target', 'met'], ...checks.map((c) => [c.check, c.measured, c.target, c.met === null ? '-' : c.met ? 'yes' : 'NO'])])
}

export function markdownChecks (checks) {
  return ['| check | measured | target | met |', '|---|--:|--:|---|', ...checks.map((c) => `| ${c.check} | ${c.measured} | ${c.target} | ${c.met === null ? '-' : c.met ? 'yes' : '**no**'} |`)].join('\n')
}

function coldRows (rows) {
  const byKey = Object.fromEntries(rows.map((r) => [r.key, r]))
  const met = (ratio, target) => target === null || ratio === null ? '-' : ratio >= target ? 'yes' : 'NO'
  return rows.filter((r) => r.alsoAgainst !== undefined && r.alsoAgainst !== null).map((r) => [
    r.scenario, cell(r.rps, 0), cell(byKey[r.baseline]?.rps, 0), cell(r.ratio), `>= ${r.target} ${met(r.ratio, r.target)}`,
    cell(r.alsoAgainst.ratio), r.alsoAgainst.target === null ? '-' : `>= ${r.alsoAgainst.target} ${met(r.alsoAgainst.ratio, r.alsoAgainst.target)}`,
    cell(r.redis?.decision, 4), cell(r.redis?.monitoring, 4), cell(r.redis?.other, 4)
  ])
}

const COLD_HEADER = ['cold verify', 'req/s', 'fast-jwt req/s', 'vs fast-jwt', 'target', 'vs bare', 'target', 'Redis/req decision', 'monitoring', 'other']

/** Cold decisions against the verification alone and against bare Fastify, with the Redis commands each request cost. */
export function coldTable (rows) {
  const body = coldRows(rows)
  return body.length === 0 ? '' : pad([COLD_HEADER, ...body])
}

export function markdownCold (rows) {
  const body = coldRows(rows)
  if (body.length === 0) return ''
  return [`| ${COLD_HEADER.join(' | ')} |`, `|---|${'--:|'.repeat(COLD_HEADER.length - 1)}`, ...body.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}
