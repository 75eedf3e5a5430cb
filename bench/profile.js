// npm run bench:profile: runs tokengate under --cpu-prof for the hot scenarios
// (warm and cold HS256 verify, proxy) and prints where its CPU time goes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { load } from './lib/load.js'
import { startNode, stopAll } from './lib/processes.js'
import { startRedis } from './lib/redis.js'
import { TokenPool, keyFor, mintOne, mintPools } from './lib/tokens.js'
import { formatSummary, summarise } from './profile-summary.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    connections: { type: 'string', default: '50' },
    top: { type: 'string', default: '15' }
  }
})
const durationS = Number(opts.duration)
const connections = Number(opts.connections)
const results = join(root, 'bench/results')
const WARMUP_S = 1
const log = (line) => process.stderr.write(line + '\n')

const work = mkdtempSync(join(tmpdir(), 'tokengate-profile-'))
try {
  mkdirSync(results, { recursive: true })
  const redis = await startRedis(work)
  const upstream = await startNode('upstream', join(root, 'bench/servers/upstream.js'), {})
  const key = keyFor('HS256', work)
  const token = mintOne(key)
  const cold = (await mintPools([{ key, count: 15_000 * (durationS + WARMUP_S) }])).get('HS256')
  const scenarios = [
    { name: 'verify-hs256-warm', path: '/auth/verify', env: {}, pool: null },
    { name: 'verify-hs256-cold', path: '/auth/verify', env: {}, pool: cold },
    { name: 'proxy-hs256', path: '/api/items', env: { UPSTREAM_URL: upstream.url }, pool: null }
  ]
  const report = []
  for (const scenario of scenarios) {
    const file = join(results, `${scenario.name}.cpuprofile`)
    rmSync(file, { force: true })
    const gateway = await startNode(`tokengate ${scenario.name}`, join(root, 'dist/main.js'), {
      NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: redis.redisUrl, ...key.env, ...scenario.env
    }, ['--cpu-prof', '--cpu-prof-dir', results, '--cpu-prof-name', `${scenario.name}.cpuprofile`])
    const pool = scenario.pool === null ? null : new TokenPool(scenario.pool)
    const run = async (seconds) => await load({ url: gateway.url, path: scenario.path, token: pool === null ? token : null, pool, connections, durationS: seconds })
    await run(WARMUP_S)
    const result = await run(durationS)
    log(`${scenario.name}: ${result.rps} req/s under the profiler`)
    await gateway.stop('SIGTERM')
    // Only the measured run: start-up, module loading and the warm-up are cut off.
    const summary = summarise(JSON.parse(readFileSync(file, 'utf8')), Number(opts.top), durationS * 1000)
    report.push({ scenario: scenario.name, rpsUnderProfiler: result.rps, ...summary })
    process.stdout.write(formatSummary(`${scenario.name} (${result.rps} req/s under the profiler)`, summary) + '\n\n')
  }
  writeFileSync(join(results, 'profiles.json'), JSON.stringify({ date: new Date().toISOString(), durationS, connections, profiles: report }, null, 2) + '\n')
  log(`wrote ${join(results, 'profiles.json')} (raw .cpuprofile files next to it: open them in Chrome DevTools)`)
} finally {
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
