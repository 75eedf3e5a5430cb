function cell (value, digits = 2) {
  return value === null || value === undefined ? '-' : typeof value === 'number' ? value.toFixed(digits) : String(value)
}

const range = (pair, digits) => pair === null ? '-' : `${cell(pair[0], digits)}-${cell(pair[1], digits)}`
const percent = (share) => share === null || share === undefined ? '-' : `${Math.round(share * 100)}%`
const yes = (met, md) => met === null ? '-' : met ? 'yes' : md ? '**no**' : 'NO'

function pad (rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)))
  return rows.map((row) => row.map((v, c) => c === 0 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c])).join('  ')).join('\n')
}

function markdown (header, body, align) {
  return [`| ${header.join(' | ')} |`, `|${align.map((a) => a === 'l' ? '---' : '--:').join('|')}|`, ...body.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}

const SCENARIO_HEADER = ['scenario', 'req/s', 'req/s min-max', 'server µs/req', 'µs min-max', 'p50 ms', 'p99 ms', 'p99.9 ms', 'server core', 'generator µs/req', 'generator core (max)', 'generator-bound', 'cores busy (load/server)']

function scenarioRows (rows, md) {
  return rows.map((r) => [
    r.scenario, cell(r.rps, 0), range(r.rpsSpread, 0), cell(r.cpuUs, 1), range(r.cpuUsSpread, 1), cell(r.p50), cell(r.p99), cell(r.p999),
    percent(r.serverCore), cell(r.generatorUs, 1), percent(r.generatorCore),
    r.generatorBoundRounds > 0 ? `${md ? '**' : ''}yes, ${r.generatorBoundRounds}/${r.rounds}${md ? '**' : ''}` : 'no',
    r.coreBusy === null ? '-' : `${percent(r.coreBusy[0])} / ${percent(r.coreBusy[1])}`
  ])
}

/** Every scenario: medians over the rounds, spreads, the server's CPU per request and the generator's own load. */
export function scenarioTable (rows) { return pad([SCENARIO_HEADER, ...scenarioRows(rows, false)]) }
export function scenarioMarkdown (rows) { return markdown(SCENARIO_HEADER, scenarioRows(rows, true), SCENARIO_HEADER.map((_, i) => i === 0 || i === 11 ? 'l' : 'r')) }

const BUDGET_HEADER = ['budget', 'µs/req subject / baseline', 'CPU ratio', 'min-max', 'req/s ratio', 'min-max', 'target', 'CPU met', 'req/s met', 'short by (CPU)']

function budgetRows (comparisons, md) {
  return comparisons.map((c) => [
    c.id, `${cell(c.subjectCpuUs, 1)} / ${cell(c.baselineCpuUs, 1)}`, cell(c.cpuRatio, 3), range(c.cpuRatioSpread, 3),
    cell(c.rpsRatio, 3) + (c.generatorBoundRounds > 0 ? ' (generator-bound)' : c.sharedCoreRounds > 0 ? ` (core shared ${c.sharedCoreRounds}/${c.rounds})` : ''), range(c.rpsRatioSpread, 3),
    c.target === null ? '-' : `>= ${c.target}`, yes(c.cpuMet, md), yes(c.rpsMet, md),
    c.shortByUs === null ? '-' : c.shortByUs > 0 ? `${cell(c.shortByUs, 1)} µs` : '-'
  ])
}

/** The budgets of design.md, in CPU per request and in throughput. */
export function budgetTable (comparisons) { return pad([BUDGET_HEADER, ...budgetRows(comparisons, false)]) }
export function budgetMarkdown (comparisons) { return markdown(BUDGET_HEADER, budgetRows(comparisons, true), BUDGET_HEADER.map((_, i) => i === 0 ? 'l' : 'r')) }

export function checksTable (checks) {
  return pad([['check', 'measured', 'target', 'met'], ...checks.map((c) => [c.check, c.measured, c.target, yes(c.met, false)])])
}

export function checksMarkdown (checks) {
  return markdown(['check', 'measured', 'target', 'met'], checks.map((c) => [c.check, c.measured, c.target, yes(c.met, true)]), ['l', 'r', 'r', 'l'])
}
