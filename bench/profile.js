// npm run bench:profile: runs tokengate under --cpu-prof and prints where its CPU time goes.
//   node bench/profile.js [--only REGEX] [--alg HS256,RS256] [--duration 6] [--out FILE]
// Scenarios: warm and cold verify per algorithm (HS256 by default), the cold baseline (bare Fastify +
// fast-jwt, bench/servers/verify.js, sent the same kind of tokens), and the HS256 proxy, bearer
// and DPoP-bound. The
// gateway runs pinned to one core and the generator (bench/lib/generator.js) to the other.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cpuSeconds } from './lib/cpu.js'
import { buildRequest, generate } from './lib/generator.js'
import { pinSelf } from './lib/pinning.js'
import { startNode, stopAll } from './lib/processes.js'
import { startRedis } from './lib/redis.js'
import { proofKey, mintProofs } from './lib/dpop-proofs.js'
import { CORES, DPOP_ORIGIN, DPOP_RPS_ESTIMATE } from './lib/scenarios.js'
import { mintOne, tokenStocks } from './lib/tokens.js'
import { formatSummary, summarise } from './profile-summary.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    connections: { type: 'string', default: '50' },
    top: { type: 'string', default: '15' },
    alg: { type: 'string', default: 'HS256' },
    only: { type: 'string' },
    out: { type: 'string' }
  }
})
const durationS = Number(opts.duration)
const connections = Number(opts.connections)
const algorithms = opts.alg.split(',')
const only = opts.only === undefined ? null : new RegExp(opts.only, 'i')
const results = join(root, 'bench/results')
const WARMUP_S = 1
const COLD_RPS = 15_000
const log = (line) => process.stderr.write(line + '\n')

const work = mkdtempSync(join(tmpdir(), 'tokengate-profile-'))
try {
  mkdirSync(results, { recursive: true })
  // Two cold scenarios per algorithm (tokengate and its baseline) draw from the stock.
  const stocks = await tokenStocks(Object.fromEntries(algorithms.map((alg) => [alg, 2 * COLD_RPS * (durationS + WARMUP_S)])), work)
  pinSelf(CORES.load)
  const redis = await startRedis(work, { cpu: CORES.load })
  const upstream = await startNode('upstream', join(root, 'bench/servers/upstream.js'), {}, [], { cpu: CORES.load })
  const scenarios = []
  for (const alg of algorithms) {
    const { key, stock } = stocks[alg]
    const name = alg.toLowerCase()
    scenarios.push({ name: `verify-${name}-warm`, path: '/auth/verify', key, token: mintOne(key), stock: null })
    scenarios.push({ name: `verify-${name}-cold`, path: '/auth/verify', key, token: null, stock })
    // The same tokens through the budget's baseline (bare Fastify + fast-jwt), so that the two profiles compare.
    scenarios.push({ name: `fast-jwt-${name}-cold`, path: '/auth/verify', key, token: null, stock, server: 'bench/servers/verify.js' })
  }
  if (algorithms.includes('HS256')) {
    scenarios.push({ name: 'proxy-hs256', path: '/api/items', key: stocks.HS256.key, token: mintOne(stocks.HS256.key), stock: null, env: { UPSTREAM_URL: upstream.url } })
    // The same proxy, the token DPoP-bound: a fresh proof per request (bench/lib/dpop-proofs.js).
    const client = proofKey()
    scenarios.push({
      name: 'proxy-hs256-dpop',
      path: '/api/items',
      key: stocks.HS256.key,
      token: mintOne(stocks.HS256.key, { cnf: { jkt: client.jkt } }),
      stock: null,
      dpop: client,
      env: { UPSTREAM_URL: upstream.url, DPOP: 'true', DPOP_ORIGINS: DPOP_ORIGIN, DPOP_PROOF_MAX_AGE_S: '600' }
    })
  }
  const report = []
  for (const scenario of scenarios.filter((s) => only === null || only.test(s.name))) {
    const file = join(results, `${scenario.name}.cpuprofile`)
    rmSync(file, { force: true })
    const gateway = await startNode(scenario.name, join(root, scenario.server ?? 'dist/main.js'), {
      NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: redis.redisUrl, ...scenario.key.env, ...scenario.env
    }, ['--cpu-prof', '--cpu-prof-dir', results, '--cpu-prof-name', `${scenario.name}.cpuprofile`], { cpu: CORES.server })
    const host = `127.0.0.1:${gateway.port}`
    const requests = async (seconds) => scenario.dpop !== undefined
      ? (await mintProofs(scenario.dpop, { htm: 'GET', htu: DPOP_ORIGIN + scenario.path, token: scenario.token }, DPOP_RPS_ESTIMATE * seconds))
          .map((proof) => buildRequest({ host, path: scenario.path, headers: { Authorization: `DPoP ${scenario.token}`, DPoP: proof } }))
      : scenario.stock === null
        ? buildRequest({ host, path: scenario.path, token: scenario.token })
        : scenario.stock.requests(scenario.stock.take(COLD_RPS * seconds), `GET ${scenario.path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer `)
    await generate({ port: gateway.port, requests: await requests(WARMUP_S), connections, durationS: WARMUP_S })
    const measured = await requests(durationS)
    const before = cpuSeconds(gateway.pid)
    const result = await generate({ port: gateway.port, requests: measured, connections, durationS })
    const cpuUs = Math.round((cpuSeconds(gateway.pid) - before) * 1e6 / (result.requests + result.non2xx) * 10) / 10
    log(`${scenario.name}: ${result.rps} req/s, ${cpuUs} µs CPU/request under the profiler`)
    await gateway.stop('SIGTERM')
    // Only the measured run: start-up, module loading and the warm-up are cut off.
    const summary = summarise(JSON.parse(readFileSync(file, 'utf8')), Number(opts.top), durationS * 1000)
    report.push({ scenario: scenario.name, rpsUnderProfiler: result.rps, cpuUsUnderProfiler: cpuUs, ...summary })
    process.stdout.write(formatSummary(`${scenario.name} (${result.rps} req/s, ${cpuUs} µs CPU/request under the profiler)`, summary) + '\n\n')
  }
  const out = opts.out ?? join(results, 'profiles.json')
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), durationS, connections, profiles: report }, null, 2) + '\n')
  log(`wrote ${out} (raw .cpuprofile files next to it: open them in Chrome DevTools)`)
} finally {
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
