// npm run bench: every server spawned here in its own process pinned to one core, the load
// generator (this process) pinned to the other, torn down at the end. See docs/performance.md.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CLOCK_TICKS, coreBusy, coreTimes, loadAverage, processTree, treeCpuSeconds } from './lib/cpu.js'
import { buildRequest, generate } from './lib/generator.js'
import { describeMachine } from './lib/machine.js'
import { NGINX, authRequestConfig, proxyConfig, startNginx } from './lib/nginx.js'
import { canPin, pinSelf } from './lib/pinning.js'
import { startNode, stopAll } from './lib/processes.js'
import { measurePropagation } from './lib/propagation.js'
import { startRedis } from './lib/redis.js'
import { CommandCounter } from './lib/redis-commands.js'
import { budgetMarkdown, budgetTable, checksMarkdown, checksTable, scenarioMarkdown, scenarioTable } from './lib/report.js'
import { proofKey, mintProofs } from './lib/dpop-proofs.js'
import { COLD_RPS_ESTIMATE, CORES, DPOP_ORIGIN, DPOP_RPS_ESTIMATE, FIXED_RATE, TRACE_RATIOS, comparisonList, scenarioList } from './lib/scenarios.js'
import { GENERATOR_BOUND, compare, summariseScenarios } from './lib/summary.js'
import { round } from './lib/stats.js'
import { ALGORITHMS, mintOne, tokenStocks } from './lib/tokens.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    trials: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
    'no-nginx': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false }
  }
})
// --quick: every scenario once, briefly: a smoke run (about a minute and a half), not figures.
const quick = opts.quick
const rounds = Number(opts.rounds ?? (quick ? 1 : 3))
const durationS = Number(opts.duration ?? (quick ? 0.8 : 3))
const warmupS = Number(opts.warmup ?? (quick ? 0.3 : 1))
const trials = Number(opts.trials ?? (quick ? 20 : 200))
const connections = Number(opts.connections)
const only = opts.only === undefined ? null : new RegExp(opts.only, 'i')
const out = opts.out ?? (quick ? join(tmpdir(), 'tokengate-bench-quick.json') : join(root, 'bench/results/latest.json'))
const nginx = !opts['no-nginx'] && existsSync(NGINX)
const pin = !opts['no-pin'] && canPin()
const cpuOf = (role) => pin ? CORES[role] : null
const log = (line) => process.stderr.write(line + '\n')

const work = mkdtempSync(join(tmpdir(), 'tokengate-bench-'))
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => { log(`${signal}: stopping servers`); stopAll().finally(() => process.exit(130)) })
}

const MAIN = join(root, 'dist/main.js')
const SERVERS = join(root, 'bench/servers')

/**
 * The servers, started on first use. The measured servers (and nginx in
 * front of an auth backend: it is part of what is measured there) run on the
 * server core; Redis and the upstream behind the proxies, which are not what
 * a figure is about, share the load core with the generator.
 */
function serverDefinitions (keys) {
  const server = cpuOf('server')
  const load = cpuOf('load')
  const gateway = (key, extra = {}) => async (need) => ({
    NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: (await need('redis')).redisUrl, RATE_LIMIT_LOGOUT_PER_MIN: '0', ...key.env, ...extra
  })
  const defs = {
    redis: { cpu: load, start: () => startRedis(work, { cpu: load }) },
    'node-http': { cpu: server, start: () => startNode('node:http', join(SERVERS, 'node-http.js'), {}, [], { cpu: server }) },
    bare: { cpu: server, start: () => startNode('bare Fastify', join(SERVERS, 'bare.js'), {}, [], { cpu: server }) },
    upstream: { cpu: load, start: () => startNode('upstream', join(SERVERS, 'upstream.js'), {}, [], { cpu: load }) },
    'otlp-sink': { cpu: load, start: () => startNode('OTLP sink', join(SERVERS, 'otlp-sink.js'), {}, [], { cpu: load }) },
    'tg-proxy': { cpu: server, start: async (need) => startNode('tokengate proxy', MAIN, await gateway(keys.HS256, { UPSTREAM_URL: (await need('upstream')).url })(need), [], { cpu: server }) },
    // DPOP_PROOF_MAX_AGE_S at its maximum: a round's proofs are made before its warm-up and sent over a few seconds.
    'tg-proxy-dpop': { cpu: server, start: async (need) => startNode('tokengate proxy, DPoP', MAIN, await gateway(keys.HS256, { UPSTREAM_URL: (await need('upstream')).url, DPOP: 'true', DPOP_ORIGINS: DPOP_ORIGIN, DPOP_PROOF_MAX_AGE_S: '600' })(need), [], { cpu: server }) },
    'reply-from': { cpu: server, start: async (need) => startNode('reply-from', join(SERVERS, 'reply-from.js'), { UPSTREAM_URL: (await need('upstream')).url }, [], { cpu: server }) },
    'nginx-proxy': { cpu: server, start: async (need) => startNginx('nginx-proxy', work, proxyConfig((await need('upstream')).port), { cpu: server }) },
    'nginx-auth-bare': { cpu: server, start: async (need) => startNginx('nginx-auth-bare', work, authRequestConfig((await need('bare')).port, '/auth/verify'), { cpu: server }) },
    'nginx-auth-tokengate': { cpu: server, start: async (need) => startNginx('nginx-auth-tokengate', work, authRequestConfig((await need('tg-HS256')).port, '/auth/verify'), { cpu: server }) }
  }
  // Traces on: the exporter's work (batching, protobuf, HTTP) is in the measured process; the sink is not.
  for (const [key, ratio] of Object.entries(TRACE_RATIOS)) {
    defs[`tg-HS256-${key}`] = {
      cpu: server,
      start: async (need) => startNode(`tokengate HS256, ${key}`, MAIN, await gateway(keys.HS256, {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(await need('otlp-sink')).port}`,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: String(ratio),
        OTEL_BSP_SCHEDULE_DELAY: '1000'
      })(need), [], { cpu: server })
    }
  }
  for (const alg of ALGORITHMS) {
    defs[`verify-${alg}`] = { cpu: server, start: () => startNode(`fast-jwt ${alg}`, join(SERVERS, 'verify.js'), keys[alg].env, [], { cpu: server }) }
    defs[`tg-${alg}`] = { cpu: server, start: async (need) => startNode(`tokengate ${alg}`, MAIN, await gateway(keys[alg])(need), [], { cpu: server }) }
  }
  return defs
}

function serverPool (defs) {
  const started = new Map()
  const need = async (key) => {
    if (!started.has(key)) started.set(key, defs[key].start(need))
    return await started.get(key)
  }
  return { need, placement: async () => Object.fromEntries(await Promise.all([...started].map(async ([k, p]) => [k, (await p).cpu ?? 'any']))) }
}

/** Which scenario's tokens a cold scenario sends: its own, or those of the scenario it shares with. */
function tokenOwner (scenario, scenarios) {
  return scenario.tokensOf !== undefined && scenarios.some((o) => o.key === scenario.tokensOf) ? scenario.tokensOf : scenario.key
}

function tokenNeeds (scenarios) {
  const needs = {}
  for (const s of scenarios) {
    if (s.auth === 'cold' && tokenOwner(s, scenarios) === s.key) {
      needs[s.alg] = (needs[s.alg] ?? 0) + Math.ceil(rounds * COLD_RPS_ESTIMATE[s.alg] * (warmupS + durationS) * 1.25)
    }
  }
  return needs
}

async function runScenario (scenario, ctx, roundIndex) {
  const server = await ctx.need(scenario.server)
  const host = `127.0.0.1:${server.port}`
  const pids = []
  for (const key of scenario.cpu ?? [scenario.server]) pids.push(...processTree((await ctx.need(key)).pid))
  const base = { port: server.port, connections: scenario.connections ?? connections, rate: scenario.rate ?? null }
  const requestsFor = async (phase) => {
    if (scenario.auth === null) return buildRequest({ host, path: scenario.path })
    if (scenario.auth === 'warm') return buildRequest({ host, path: scenario.path, token: ctx.warmTokens[scenario.alg] })
    if (scenario.auth === 'dpop') {
      const seconds = phase === 'warmup' ? warmupS : durationS
      const proofs = await mintProofs(ctx.dpopClient.key, { htm: 'GET', htu: DPOP_ORIGIN + scenario.path, token: ctx.dpopClient.token }, Math.ceil(DPOP_RPS_ESTIMATE * seconds * 1.25))
      return proofs.map((proof) => buildRequest({ host, path: scenario.path, headers: { Authorization: `DPoP ${ctx.dpopClient.token}`, DPoP: proof } }))
    }
    const owner = tokenOwner(scenario, ctx.scenarios)
    const slot = `${owner} ${roundIndex} ${phase}`
    if (!ctx.ranges.has(slot)) {
      const seconds = phase === 'warmup' ? warmupS : durationS
      ctx.ranges.set(slot, ctx.stocks[scenario.alg].stock.take(Math.ceil(COLD_RPS_ESTIMATE[scenario.alg] * seconds * 1.25)))
    }
    return ctx.stocks[scenario.alg].stock.requests(ctx.ranges.get(slot), `GET ${scenario.path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer `)
  }
  if (warmupS > 0) await generate({ ...base, requests: await requestsFor('warmup'), durationS: warmupS })
  const requests = await requestsFor('measure')
  const measureAround = {
    before: async () => ({ redis: scenario.countRedis === true ? await ctx.commands().snapshot() : null, cores: coreTimes(), cpu: treeCpuSeconds(pids) }),
    after: async () => ({ cpu: treeCpuSeconds(pids), cores: coreTimes(), redis: scenario.countRedis === true ? await ctx.commands().snapshot() : null })
  }
  const r = await generate({ ...base, requests, durationS, measureAround })
  const answered = r.requests + r.non2xx
  const result = {
    rps: r.rps,
    requests: r.requests,
    non2xx: r.non2xx,
    errors: r.errors,
    seconds: r.seconds,
    p50: r.p50,
    p99: r.p99,
    p999: r.p999,
    poolExhausted: r.poolExhausted,
    cpuUs: answered > 0 ? round((r.after.cpu - r.before.cpu) * 1e6 / answered, 2) : null,
    serverCpuS: round(r.after.cpu - r.before.cpu, 3),
    serverCore: r.seconds > 0 ? round((r.after.cpu - r.before.cpu) / r.seconds, 3) : null,
    generatorUs: answered > 0 ? round(r.generatorCpuS * 1e6 / answered, 2) : null,
    generatorCore: r.seconds > 0 ? round(r.generatorCpuS / r.seconds, 3) : null,
    coreBusy: coreBusy(r.before.cores, r.after.cores),
    pids: pids.length
  }
  result.generatorBound = result.generatorCore !== null && result.generatorCore >= GENERATOR_BOUND
  if (r.before.redis !== null) result.redis = CommandCounter.perRequest(r.before.redis, r.after.redis, r.sent)
  const redis = result.redis === undefined ? '' : `  Redis/req: decision ${result.redis.decision}, monitoring ${result.redis.monitoring}`
  log(`  round ${roundIndex + 1}  ${scenario.id.padEnd(44)} ${String(result.rps).padStart(7)} req/s  ${String(result.cpuUs).padStart(6)} µs/req  p99 ${result.p99} ms  generator ${Math.round(result.generatorCore * 100)}%${result.generatorBound ? ' (GENERATOR-BOUND)' : ''}${r.non2xx + r.errors > 0 ? `  non-2xx ${r.non2xx}, errors ${r.errors}` : ''}${r.poolExhausted ? '  (token share used up: shorter run)' : ''}${redis}`)
  return result
}

function extraChecks (rows, propagation, memory, dpopCost) {
  const byKey = Object.fromEntries(rows.map((r) => [r.key, r]))
  const checks = []
  for (const row of rows) {
    if (row.redis === null) continue
    checks.push({ check: `${row.scenario}: Redis commands per request, decision path`, measured: String(row.redis.decision), target: '<= 0.01', met: row.redis.decision <= 0.01 })
    checks.push({ check: `${row.scenario}: Redis commands per request, monitoring`, measured: String(row.redis.monitoring), target: '<= 1', met: row.redis.monitoring <= 1 })
  }
  const tgFixed = byKey['proxy-tokengate-fixed']
  const directFixed = byKey['direct-fixed']
  if (tgFixed !== undefined && directFixed !== undefined) {
    const added = round(tgFixed.p99 - directFixed.p99, 3)
    checks.push({ check: `proxy: p99 added over direct at ${FIXED_RATE} req/s (p50 ${round(tgFixed.p50 - directFixed.p50, 3)} ms)`, measured: `${added} ms`, target: '< 1 ms', met: added < 1 })
  }
  // Issue 22's budget: a DPoP-bound decision costs at most one proof verification and one replay
  // claim (each measured alone in the same run, at the same concurrency) plus 10 µs beyond the
  // same bearer decision. In process: over HTTP the DPoP run serves fewer requests a second, and a
  // server's CPU per request grows as its writes batch fewer answers, whatever the decision costs.
  for (const d of dpopCost) {
    for (const kind of ['Warm', 'Cold']) {
      checks.push({ check: `DPoP ${kind.toLowerCase()} decision beyond bearer, the proof (${round(d.proofUs, 1)} µs) and the claim (${round(d.claimUs, 1)} µs), ${d.concurrency} in flight`, measured: `${round(d[`extra${kind}Us`], 1)} µs`, target: `<= ${d.budgetUs} µs`, met: d[`extra${kind}Us`] <= d.budgetUs })
    }
  }
  const bound = rows.filter((r) => r.generatorBoundRounds > 0)
  checks.push({ check: `generator below ${GENERATOR_BOUND * 100}% of its core in every run`, measured: bound.length === 0 ? 'all' : `bound: ${bound.map((r) => r.scenario).join(', ')}`, target: 'all', met: bound.length === 0 })
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

function selectScenarios () {
  const all = scenarioList({ nginx })
  if (only === null) return all
  const picked = new Set(all.filter((s) => only.test(s.id)).map((s) => s.key))
  // A subject brings its baseline along.
  for (const c of comparisonList({ nginx })) if (picked.has(c.subject) && c.target !== null) picked.add(c.baseline)
  return all.filter((s) => picked.has(s.key))
}

async function main () {
  const machine = describeMachine()
  const loadAtStart = loadAverage()
  log(`tokengate bench${quick ? ' (quick: a smoke run, not figures)' : ''}: ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, nginx ${machine.nginx ?? 'not installed'}, load average ${loadAtStart?.join(' ')}`)
  const scenarios = selectScenarios()
  const needs = tokenNeeds(scenarios)
  const mintStart = performance.now()
  const stocks = await tokenStocks(Object.fromEntries(ALGORITHMS.map((alg) => [alg, needs[alg] ?? 0])), work)
  const minted = Object.values(stocks).reduce((n, s) => n + s.minted, 0)
  log(`token stock: ${Object.entries(stocks).map(([alg, s]) => `${alg} ${s.stock.size}`).join(', ')}${minted > 0 ? ` (${minted} minted in ${((performance.now() - mintStart) / 1000).toFixed(1)} s)` : ''}`)
  const keys = Object.fromEntries(ALGORITHMS.map((alg) => [alg, stocks[alg].key]))
  const warmTokens = Object.fromEntries(ALGORITHMS.map((alg) => [alg, mintOne(keys[alg])]))

  // After minting (which uses every core): from here on this process is the load generator.
  if (pin) pinSelf(CORES.load)
  const { need, placement } = serverPool(serverDefinitions(keys))
  let counter = null
  // The DPoP scenario's client: its proof key, and the warm HS256 token bound to it (cnf.jkt).
  const clientKey = proofKey()
  const dpopClient = { key: clientKey, token: mintOne(keys.HS256, { cnf: { jkt: clientKey.jkt } }) }
  const ctx = { need, scenarios, stocks, warmTokens, dpopClient, ranges: new Map(), commands: () => counter }
  for (const s of scenarios) await need(s.server)
  if (scenarios.some((s) => s.countRedis === true)) counter = new CommandCounter((await need('redis')).port)
  log(`servers up${pin ? `, pinned: servers on cpu ${CORES.server}, generator on cpu ${CORES.load}` : ', not pinned (no taskset or one core)'}; ${rounds} round(s) of ${scenarios.length} scenarios, ${warmupS} s warm-up + ${durationS} s each, ${connections} connections`)
  const perRound = []
  for (let r = 0; r < rounds; r++) {
    const results = {}
    for (const scenario of scenarios) results[scenario.key] = await runScenario(scenario, ctx, r)
    perRound.push(results)
  }

  let propagation = null
  if (trials > 0 && (only === null || only.test('propagation'))) {
    const a = await need('tg-HS256')
    const b = await startNode('tokengate replica B', MAIN, {
      NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: (await need('redis')).redisUrl, ...keys.HS256.env
    }, [], { cpu: cpuOf('server') })
    log('revocation propagation: logout on replica A, poll replica B until 401')
    propagation = await measurePropagation({ a, b, key: keys.HS256, trials })
    log(`  p50 ${propagation.p50} ms, p99 ${propagation.p99} ms, max ${propagation.max} ms`)
  }

  // DPoP (issue 22): bearer and DPoP-bound decisions in process, the replay check on the bench's
  // Redis, one decision in flight (each waits for its own round trip) and as many as the HTTP runs'
  // connections (claims share round trips, as under load).
  const dpopCost = []
  if (only === null || only.test('dpop')) {
    for (const concurrency of [1, connections]) {
      log(`DPoP decision cost (bench/dpop-cost.js), ${concurrency} in flight`)
      const args = ['--rounds', quick ? '1' : '3', '--n', quick ? '1000' : '4000', '--concurrency', String(concurrency), '--redis', (await need('redis')).redisUrl, '--json']
      dpopCost.push({ concurrency, ...JSON.parse(execFileSync(process.execPath, [join(root, 'bench/dpop-cost.js'), ...args], { encoding: 'utf8' })) })
      log(dpopCost.at(-1).text)
    }
  }

  const where = await placement()
  counter?.close()
  await stopAll()
  const loadAtEnd = loadAverage()
  const rows = summariseScenarios(scenarios, perRound)
  const selected = new Set(scenarios.map((s) => s.key))
  const comparisons = compare(comparisonList({ nginx }).filter((c) => selected.has(c.subject) && selected.has(c.baseline)), rows, perRound)
  const checks = extraChecks(rows, propagation, quick ? null : readMemoryResult(), dpopCost)
  const placed = Object.entries(where).map(([key, cpu]) => `${key} ${cpu}`).join(', ')
  const heading = `${machine.date.slice(0, 16).replace('T', ' ')} UTC, ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}, nginx ${machine.nginx ?? '-'}, tokengate ${machine.tokengate}; ` +
    `load average at start ${loadAtStart?.join(' ')}, at end ${loadAtEnd?.join(' ')}; ${rounds} round(s) of ${warmupS} s warm-up + ${durationS} s, medians (min-max); ` +
    `server CPU from /proc/<pid>/stat (${CLOCK_TICKS} ticks/s); ${pin ? `pinned (cpu): generator ${CORES.load}, ${placed}` : 'not pinned'}`
  process.stdout.write(`\n${heading}\n\n${scenarioTable(rows)}\n\n${budgetTable(comparisons)}\n\n${checksTable(checks)}\n`)
  const markdown = `${heading}\n\n${scenarioMarkdown(rows)}\n\n${budgetMarkdown(comparisons)}\n\n${checksMarkdown(checks)}\n${dpopCost.length === 0 ? '' : `\n\`\`\`\n${dpopCost.map((d) => d.text).join('\n')}\n\`\`\`\n`}`
  const report = {
    machine,
    quick,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    settings: { rounds, durationS, warmupS, connections, generator: 'bench/lib/generator.js (node:net, pre-built requests)', generatorBoundAt: GENERATOR_BOUND, clockTicks: CLOCK_TICKS },
    pinning: pin ? { generator: CORES.load, servers: where } : null,
    scenarios: rows,
    comparisons,
    propagation,
    dpop: dpopCost,
    checks,
    markdown
  }
  mkdirSync(join(root, 'bench/results'), { recursive: true })
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
  writeFileSync(out.replace(/\.json$/, '') + '.md', markdown)
  log(`\nwrote ${out} and ${out.replace(/\.json$/, '')}.md`)
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
