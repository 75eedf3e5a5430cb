import { median, round } from './stats.js'

/** A throughput figure is the generator's, not the server's, when the generator used this much of its core. */
export const GENERATOR_BOUND = 0.9
/** A saturated server that used less of its core than this shared it: its throughput is not its own. */
export const SERVER_SHARED = 0.9

const spread = (values, digits) => {
  const usable = values.filter((v) => v !== null && Number.isFinite(v))
  return usable.length === 0 ? null : [round(Math.min(...usable), digits), round(Math.max(...usable), digits)]
}

/** Medians over the measured rounds, with min-max spreads, per scenario. */
export function summariseScenarios (scenarios, perRound) {
  return scenarios.map((s) => {
    const runs = perRound.map((r) => r[s.key]).filter(Boolean)
    const pick = (field) => runs.map((r) => r[field])
    const bound = runs.filter((r) => r.generatorBound).length
    return {
      key: s.key,
      scenario: s.id,
      rps: round(median(pick('rps')), 0),
      rpsSpread: spread(pick('rps'), 0),
      cpuUs: round(median(pick('cpuUs')), 2),
      cpuUsSpread: spread(pick('cpuUs'), 2),
      p50: round(median(pick('p50')), 3),
      p99: round(median(pick('p99')), 3),
      p999: round(median(pick('p999')), 3),
      generatorCore: round(Math.max(...pick('generatorCore')), 3),
      serverCore: round(median(pick('serverCore')), 3),
      generatorUs: round(median(pick('generatorUs')), 2),
      generatorBoundRounds: bound,
      rounds: runs.length,
      coreBusy: runs.length === 0 ? null : runs[0].coreBusy.map((_, i) => round(median(runs.map((r) => r.coreBusy[i])), 3)),
      non2xx: runs.reduce((n, r) => n + r.non2xx + r.errors, 0),
      poolExhaustedRounds: runs.filter((r) => r.poolExhausted).length,
      redis: s.countRedis === true ? meanCommands(runs.map((r) => r.redis)) : null,
      runs
    }
  })
}

function meanCommands (perRun) {
  const runs = perRun.filter(Boolean)
  if (runs.length === 0) return null
  const avg = (part) => round(runs.reduce((n, r) => n + r[part], 0) / runs.length, 4)
  return { decision: avg('decision'), monitoring: avg('monitoring'), other: avg('other'), requests: runs.reduce((n, r) => n + r.requests, 0) }
}

/**
 * Each budget pair, ratio per round (the two ran minutes apart at most), then
 * the median and spread of those ratios. CPU: baseline µs / subject µs, so
 * that 0.90 means "costs 1/0.90 of the baseline" in both columns. shortByUs:
 * how many µs per request the subject must lose to meet the target.
 */
export function compare (comparisons, rows, perRound) {
  const byKey = new Map(rows.map((r) => [r.key, r]))
  const out = []
  for (const c of comparisons) {
    const subject = byKey.get(c.subject)
    const baseline = byKey.get(c.baseline)
    if (subject === undefined || baseline === undefined) continue
    const cpu = []
    const rps = []
    let bound = 0
    let shared = 0
    let paired = 0
    for (const round of perRound) {
      const a = round[c.subject]
      const b = round[c.baseline]
      if (a === undefined || b === undefined) continue
      paired++
      if (a.cpuUs > 0 && b.cpuUs > 0) cpu.push(b.cpuUs / a.cpuUs)
      if (a.rps > 0 && b.rps > 0) rps.push(a.rps / b.rps)
      if (a.generatorBound || b.generatorBound) bound++
      if (a.serverCore < SERVER_SHARED || b.serverCore < SERVER_SHARED) shared++
    }
    const cpuRatio = round(median(cpu), 3)
    const rpsRatio = round(median(rps), 3)
    const met = (ratio) => c.target === null || ratio === null ? null : ratio >= c.target
    out.push({
      id: c.id,
      subject: c.subject,
      baseline: c.baseline,
      subjectCpuUs: subject.cpuUs,
      baselineCpuUs: baseline.cpuUs,
      cpuRatio,
      cpuRatioSpread: spread(cpu, 3),
      rpsRatio,
      rpsRatioSpread: spread(rps, 3),
      target: c.target,
      cpuMet: met(cpuRatio),
      rpsMet: met(rpsRatio),
      shortByUs: c.target === null || subject.cpuUs === null || baseline.cpuUs === null ? null : round(Math.max(0, subject.cpuUs - baseline.cpuUs / c.target), 1),
      generatorBoundRounds: bound,
      sharedCoreRounds: shared,
      rounds: paired
    })
  }
  return out
}
