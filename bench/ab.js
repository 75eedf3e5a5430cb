// A/B of tokengate builds or settings, side by side, rounds alternated; server CPU per request from /proc.
//   node bench/ab.js --variant 'main=dist' --variant 'no-theft=dist:ALERT_TOKEN_MAX_IPS=0' [--variant 'wt=/work/wt/x/dist']
//        [--alg HS256] [--mode cold|warm] [--rounds 6] [--duration 3] [--baseline]
// A variant is NAME=DIST_DIR[:VAR=VALUE,VAR=VALUE]: DIST_DIR holds a built main.js (relative to the repo or absolute).
// --baseline adds the budget's baseline: bare Fastify + fast-jwt (cold), bare Fastify (warm).
// Every variant is a fresh process pinned to the server core, sharing one Redis; cold tokens come
// from the bench's token stock, each sent once. Prints medians, spreads and each variant's ratio to the first.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cpuSeconds, loadAverage } from './lib/cpu.js'
import { buildRequest, generate } from './lib/generator.js'
import { pinSelf } from './lib/pinning.js'
import { startNode, stopAll } from './lib/processes.js'
import { startRedis } from './lib/redis.js'
import { COLD_RPS_ESTIMATE, CORES } from './lib/scenarios.js'
import { median } from './lib/stats.js'
import { mintOne, tokenStocks } from './lib/tokens.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true, default: ['main=dist'] },
    alg: { type: 'string', default: 'HS256' },
    mode: { type: 'string', default: 'cold' },
    rounds: { type: 'string', default: '6' },
    duration: { type: 'string', default: '3' },
    baseline: { type: 'boolean', default: false }
  }
})
const rounds = Number(opts.rounds)
const durationS = Number(opts.duration)
const cold = opts.mode === 'cold'
const WARMUP_S = 1

function parseVariant (text) {
  const [name, rest] = text.split(/=(.*)/s)
  const [dir, vars = ''] = rest.split(/:(.*)/s)
  const env = Object.fromEntries(vars.split(',').filter(Boolean).map((pair) => pair.split(/=(.*)/s)))
  return { name, script: join(isAbsolute(dir) ? dir : join(root, dir), 'main.js'), env }
}

const work = mkdtempSync(join(tmpdir(), 'tokengate-ab-'))
try {
  const variants = opts.variant.map(parseVariant)
  if (opts.baseline) variants.push({ name: cold ? `fast-jwt ${opts.alg} (Fastify)` : 'bare Fastify', script: join(root, `bench/servers/${cold ? 'verify' : 'bare'}.js`), env: {}, baseline: true })
  const perRun = Math.ceil(COLD_RPS_ESTIMATE[opts.alg] * 1.2 * (durationS + WARMUP_S))
  const stocks = await tokenStocks({ [opts.alg]: cold ? perRun * rounds * variants.length : 0 }, work)
  const { key, stock } = stocks[opts.alg]
  pinSelf(CORES.load)
  const redis = await startRedis(work, { cpu: CORES.load })
  for (const v of variants) {
    const env = { NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: redis.redisUrl, ...key.env, ...v.env }
    v.server = await startNode(v.name, v.script, env, [], { cpu: CORES.server })
    v.us = []
    v.rps = []
  }
  const token = mintOne(key)
  process.stderr.write(`load average ${loadAverage().join(' ')}\n`)
  for (let r = 0; r < rounds; r++) {
    // Alternated: each round runs the variants in turn, the order reversed every other round.
    for (const v of (r % 2 === 0 ? variants : [...variants].reverse())) {
      const { port, pid } = v.server
      const host = `127.0.0.1:${port}`
      const path = v.baseline && !cold ? '/' : '/auth/verify'
      const requests = (seconds) => cold
        ? stock.requests(stock.take(Math.ceil(COLD_RPS_ESTIMATE[opts.alg] * 1.2 * seconds)), `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer `)
        : buildRequest({ host, path, token })
      await generate({ port, requests: requests(WARMUP_S), connections: 50, durationS: WARMUP_S })
      const measureAround = { before: async () => cpuSeconds(pid), after: async () => cpuSeconds(pid) }
      const run = await generate({ port, requests: requests(durationS), connections: 50, durationS, measureAround })
      if (run.non2xx > 0) throw new Error(`${v.name}: ${run.non2xx} non-2xx answers`)
      v.us.push((run.after - run.before) * 1e6 / run.requests)
      v.rps.push(run.rps)
    }
  }
  const first = median(variants[0].us)
  for (const v of variants) {
    const us = median(v.us)
    const spread = `${Math.min(...v.us).toFixed(1)}-${Math.max(...v.us).toFixed(1)}`
    process.stdout.write(`${v.name.padEnd(28)} ${us.toFixed(1).padStart(6)} µs/req (${spread})  ${Math.round(median(v.rps))} req/s  vs first ${(us / first).toFixed(3)}\n`)
  }
  process.stderr.write(`load average ${loadAverage().join(' ')}\n`)
} finally {
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
