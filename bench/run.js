// npm run bench: every server spawned here in its own process, measured with
// autocannon from this process, torn down at the end. See docs/performance.md.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { load } from './lib/load.js'
import { describeMachine } from './lib/machine.js'
import { NGINX, authRequestConfig, proxyConfig, startNginx } from './lib/nginx.js'
import { startNode, stopAll } from './lib/processes.js'
import { measurePropagation } from './lib/propagation.js'
import { startRedis } from './lib/redis.js'
import { CommandCounter } from './lib/redis-commands.js'
import { checksTable, coldTable, markdownChecks, markdownCold, markdownTable, textTable } from './lib/report.js'
import { COLD_RPS_ESTIMATE, FIXED_RATE, WORKERS, scenarioList } from './lib/scenarios.js'
import { mean, round } from './lib/stats.js'
import { ALGORITHMS, TokenPool, keyFor, mintOne, mintPools } from './lib/tokens.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    trials: { type: 'string', default: '200' },
    only: { type: 'string' },
    out: { type: 'string', default: join(root, 'bench/results/latest.json') },
    'no-nginx': { type: 'boolean', default: false }
  }
})
const rounds = Number(opts.rounds)
const durationS = Number(opts.duration)
const warmupS = Number(opts.warmup)
const connections = Number(opts.connections)
const only = opts.only === undefined ? null : new RegExp(opts.only, 'i')
const nginx = !opts['no-nginx'] && existsSync(NGINX)
const log = (line) => process.stderr.write(line + '\n')

const work = mkdtempSync(join(tmpdir(), 'tokengate-bench-'))
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => { log(`${signal}: stopping servers`); stopAll().finally(() => process.exit(130)) })
}

const MAIN = join(root, 'dist/main.js')
const SERVERS = join(root, 'bench/servers')

async function startServers (keys) {
  const redis = await startRedis(work)
  const gatewayEnv = (key, extra = {}) => ({
    NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: redis.redisUrl, RATE_LIMIT_LOGOUT_PER_MIN: '0', ...key.env, ...extra
  })
  const servers = { redis }
  servers.bare = await startNode('bare', join(SERVERS, 'bare.js'), {})
  for (const alg of ALGORITHMS) servers[`verify-${alg}`] = await startNode(`fast-jwt ${alg}`, join(SERVERS, 'verify.js'), keys[alg].env)
  for (const alg of ALGORITHMS) servers[`tg-${alg}`] = await startNode(`tokengate ${alg}`, MAIN, gatewayEnv(keys[alg]))
  servers['tg-HS256-workers'] = await startNode(`tokengate HS256 x${WORKERS}`, MAIN, gatewayEnv(keys.HS256, { WORKERS: String(WORKERS) }))
  servers.upstream = await startNode('upstream', join(SERVERS, 'upstream.js'), {})
  servers['tg-proxy'] = await startNode('tokengate proxy', MAIN, gatewayEnv(keys.HS256, { UPSTREAM_URL: servers.upstream.url }))
  servers['tg-proxy-workers'] = await startNode(`tokengate proxy x${WORKERS}`, MAIN, gatewayEnv(keys.HS256, { UPSTREAM_URL: servers.upstream.url, WORKERS: String(WORKERS) }))
  servers['reply-from'] = await startNode('reply-from', join(SERVERS, 'reply-from.js'), { UPSTREAM_URL: servers.upstream.url })
  if (nginx) {
    servers['nginx-proxy'] = await startNginx('nginx-proxy', work, proxyConfig(servers.upstream.port))
    servers['nginx-auth-bare'] = await startNginx('nginx-auth-bare', work, authRequestConfig(servers.bare.port, '/auth/verify'))
    servers['nginx-auth-tokengate'] = await startNginx('nginx-auth-tokengate', work, authRequestConfig(servers['tg-HS256'].port, '/auth/verify'))
  }
  return servers
}

function coldPoolSizes () {
  return Object.fromEntries(ALGORITHMS.map((alg) => {
    const perSecond = COLD_RPS_ESTIMATE[alg]
    return [alg, { warmup: Math.ceil(perSecond * warmupS * 0.6), measure: Math.ceil(perSecond * durationS * 1.3) }]
  }))
}

async function runScenario (scenario, servers, warmTokens, pools, round, commands) {
  const server = servers[scenario.server]
  const base = { url: server.url, path: scenario.path, connections: scenario.connections ?? connections, rate: scenario.rate ?? null }
  const token = scenario.auth === 'warm' ? warmTokens[scenario.alg] : null
  const take = (phase) => pools[scenario.key][phase].shift()
  if (warmupS > 0) {
    await load({ ...base, token, pool: scenario.auth === 'cold' ? new TokenPool(take('warmup')) : null, durationS: warmupS })
  }
  const before = scenario.countRedis === true ? await commands.snapshot() : null
  const result = await load({ ...base, token, pool: scenario.auth === 'cold' ? new TokenPool(take('measure')) : null, durationS })
  if (before !== null) result.redis = CommandCounter.perRequest(before, await commands.snapshot(), result.tokensSent ?? result.requests + result.non2xx)
  const redis = result.redis === undefined ? '' : `  Redis per request: decision ${result.redis.decision}, monitoring ${result.redis.monitoring}`
  log(`  round ${round + 1}  ${scenario.id.padEnd(40)} ${String(result.rps).padStart(7)} req/s  p99 ${result.p99} ms${result.non2xx > 0 ? `  non-2xx ${result.non2xx}` : ''}${result.poolExhausted ? '  (token pool used up: shorter run)' : ''}${redis}`)
  return result
}

function summarise (scenarios, perRound) {
  const agg = new Map()
  for (const s of scenarios) {
    const runs = perRound.map((r) => r[s.key]).filter(Boolean)
    agg.set(s.key, {
      rps: round(mean(runs.map((r) => r.rps)), 0),
      p50: round(mean(runs.map((r) => r.p50)), 3),
      p99: round(mean(runs.map((r) => r.p99)), 3),
      p999: round(mean(runs.map((r) => r.p999)), 3),
      non2xx: runs.reduce((n, r) => n + r.non2xx + r.errors, 0),
      redis: s.countRedis === true ? meanCommands(runs.map((r) => r.redis)) : null
    })
  }
  return scenarios.map((s) => {
    const a = agg.get(s.key)
    const base = s.baseline === undefined ? null : agg.get(s.baseline)
    const ratio = base?.rps ? round(a.rps / base.rps, 3) : null
    const target = s.target ?? null
    const other = s.alsoAgainst === undefined ? null : agg.get(s.alsoAgainst.baseline)
    const alsoAgainst = other?.rps ? { baseline: s.alsoAgainst.baseline, ratio: round(a.rps / other.rps, 3), target: s.alsoAgainst.target } : null
    return {
      key: s.key,
      scenario: s.id,
      ...a,
      baseline: s.baseline ?? null,
      ratio,
      target,
      met: target === null || ratio === null ? null : ratio >= target,
      alsoAgainst,
      runs: perRound.map((r) => r[s.key]).filter(Boolean)
    }
  })
}

function meanCommands (perRun) {
  const runs = perRun.filter(Boolean)
  if (runs.length === 0) return null
  const avg = (part) => round(mean(runs.map((r) => r[part])), 4)
  return { decision: avg('decision'), monitoring: avg('monitoring'), other: avg('other'), requests: runs.reduce((n, r) => n + r.requests, 0) }
}

function extraChecks (rows, propagation, memory) {
  const byKey = Object.fromEntries(rows.map((r) => [r.key, r]))
  const checks = []
  for (const row of rows) {
    if (row.redis === null) continue
    checks.push({ check: `${row.scenario}: Redis commands per request, decision path`, measured: String(row.redis.decision), target: '<= 0.01', met: row.redis.decision <= 0.01 })
    checks.push({ check: `${row.scenario}: Redis commands per request, monitoring`, measured: String(row.redis.monitoring), target: '<= 1', met: row.redis.monitoring <= 1 })
  }
  const tg = byKey['proxy-tokengate']
  const rf = byKey['proxy-reply-from']
  const direct = byKey.direct
  if (tg !== undefined && rf !== undefined) {
    checks.push({ check: 'proxy: tokengate req/s vs bare reply-from proxy', measured: `${round(tg.rps / rf.rps, 3)}x`, target: '>= 1x', met: tg.rps >= rf.rps })
  }
  if (tg !== undefined && direct !== undefined) {
    checks.push({ check: 'proxy: p99 added over direct, saturated (queueing)', measured: `${round(tg.p99 - direct.p99, 3)} ms`, target: '-', met: null })
  }
  const tgFixed = byKey['proxy-tokengate-fixed']
  const directFixed = byKey['direct-fixed']
  if (tgFixed !== undefined && directFixed !== undefined) {
    const added = round(tgFixed.p99 - directFixed.p99, 3)
    checks.push({ check: `proxy: p99 added over direct at ${FIXED_RATE} req/s (p50 ${round(tgFixed.p50 - directFixed.p50, 3)} ms)`, measured: `${added} ms`, target: '< 1 ms', met: added < 1 })
  }
  if (propagation !== null) {
    checks.push({ check: `revocation propagation p50 / p99 (${propagation.trials} trials)`, measured: `${propagation.p50} / ${propagation.p99} ms`, target: 'p99 < 10 ms', met: propagation.neverDenied === 0 && propagation.p99 < 10 })
  }
  if (memory !== null) {
    checks.push({ check: `RSS after ${memory.tokens.toLocaleString('en')} distinct tokens (${memory.date.slice(0, 10)}, npm run bench:memory)`, measured: `${memory.rssMb} MB`, target: '< 150 MB', met: memory.rssMb < 150 })
  }
  return checks
}

function readMemoryResult () {
  const file = join(root, 'bench/results/memory.json')
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null
}

async function main () {
  const machine = describeMachine()
  log(`tokengate bench: ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, nginx ${machine.nginx ?? 'not installed'}`)
  const scenarios = scenarioList({ nginx }).filter((s) => only === null || only.test(s.id) || s.key === 'bare' || scenarioListHasBaseline(s))
  const keys = Object.fromEntries(ALGORITHMS.map((alg) => [alg, keyFor(alg, work)]))
  const sizes = coldPoolSizes()
  // One pool of distinct tokens per cold scenario and round: no token is ever sent twice.
  // A baseline that sends another scenario's tokens mints none of its own (unless that scenario is not run).
  const sharing = scenarios.filter((s) => s.tokensOf !== undefined && scenarios.some((o) => o.key === s.tokensOf))
  const coldScenarios = scenarios.filter((s) => s.auth === 'cold' && !sharing.includes(s))
  const perAlg = new Map()
  for (const s of coldScenarios) perAlg.set(s.alg, (perAlg.get(s.alg) ?? 0) + 1)
  const mintStart = performance.now()
  const jobs = [...perAlg].map(([alg, count]) => ({ key: keys[alg], count: count * rounds * (sizes[alg].warmup + sizes[alg].measure) }))
  const minted = await mintPools(jobs)
  const pools = {}
  const used = new Map()
  for (const s of coldScenarios) {
    const all = minted.get(s.alg)
    const { warmup, measure } = sizes[s.alg]
    let at = used.get(s.alg) ?? 0
    pools[s.key] = { warmup: [], measure: [] }
    for (let r = 0; r < rounds; r++) {
      pools[s.key].warmup.push(all.slice(at, at += warmup))
      pools[s.key].measure.push(all.slice(at, at += measure))
    }
    used.set(s.alg, at)
  }
  for (const s of sharing) pools[s.key] = { warmup: [...pools[s.tokensOf].warmup], measure: [...pools[s.tokensOf].measure] }
  log(`minted ${jobs.reduce((n, j) => n + j.count, 0)} distinct tokens in ${((performance.now() - mintStart) / 1000).toFixed(1)} s`)
  const warmTokens = Object.fromEntries(ALGORITHMS.map((alg) => [alg, mintOne(keys[alg])]))

  const servers = await startServers(keys)
  const commands = new CommandCounter(servers.redis.port)
  log(`servers up; ${rounds} round(s) of ${scenarios.length} scenarios, ${warmupS} s warm-up + ${durationS} s each, ${connections} connections`)
  const perRound = []
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? scenarios : [...scenarios].reverse()
    const results = {}
    for (const scenario of order) results[scenario.key] = await runScenario(scenario, servers, warmTokens, pools, r, commands)
    perRound.push(results)
  }

  let propagation = null
  if (Number(opts.trials) > 0 && (only === null || only.test('propagation'))) {
    const replicaB = await startNode('tokengate replica B', MAIN, {
      NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: servers.redis.redisUrl, ...keys.HS256.env
    })
    log('revocation propagation: logout on replica A, poll replica B until 401')
    propagation = await measurePropagation({ a: servers['tg-HS256'], b: replicaB, key: keys.HS256, trials: Number(opts.trials) })
    log(`  p50 ${propagation.p50} ms, p99 ${propagation.p99} ms, max ${propagation.max} ms`)
  }

  commands.close()
  await stopAll()
  const rows = summarise(scenarios, perRound)
  const checks = extraChecks(rows, propagation, readMemoryResult())
  process.stdout.write(`\n${textTable(rows)}\n\n${coldTable(rows)}\n\n${checksTable(checks)}\n`)
  const report = {
    machine,
    settings: { rounds, durationS, warmupS, connections, coldPoolSizes: sizes },
    scenarios: rows,
    propagation,
    checks,
    markdown: `${markdownTable(rows)}\n\n${markdownCold(rows)}\n\n${markdownChecks(checks)}`
  }
  mkdirSync(join(root, 'bench/results'), { recursive: true })
  writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n')
  log(`\nwrote ${opts.out}`)
}

function scenarioListHasBaseline (candidate) {
  return scenarioList({ nginx }).some((s) => only.test(s.id) && s.baseline === candidate.key)
}

try {
  await main()
} catch (err) {
  log(`bench failed: ${err.stack ?? err}`)
  process.exitCode = 1
} finally {
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
