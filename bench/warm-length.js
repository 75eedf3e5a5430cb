// What a warm decision's cost follows: node bench/warm-length.js [--rounds 5] [--duration 3]
// tokengate answers one token repeated (warm) for HS256, RS256, ES256 and EdDSA, and an HS256
// token padded (an extra claim) to the RS256 token's length; bare Fastify answers requests without
// and with an Authorization header of that length. Server CPU per request from /proc, servers
// pinned to one core and the generator to the other, rounds alternated. --after-cold S: before
// each warm run, S seconds of distinct tokens to the same process (as npm run bench does).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cpuSeconds, loadAverage } from './lib/cpu.js'
import { buildRequest, generate } from './lib/generator.js'
import { pinSelf } from './lib/pinning.js'
import { startNode, stopAll } from './lib/processes.js'
import { startRedis } from './lib/redis.js'
import { CORES } from './lib/scenarios.js'
import { median } from './lib/stats.js'
import { ALGORITHMS, mintOne, tokenStocks } from './lib/tokens.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, duration: { type: 'string', default: '3' }, 'after-cold': { type: 'string', default: '0' } } })
const work = mkdtempSync(join(tmpdir(), 'tokengate-warm-length-'))
try {
  const coldS = Number(opts['after-cold'])
  const COLD_RPS = 10_000
  const stocks = await tokenStocks(Object.fromEntries(ALGORITHMS.map((alg) => [alg, coldS * COLD_RPS * (Number(opts.rounds) + 1)])), work)
  const keys = Object.fromEntries(ALGORITHMS.map((alg) => [alg, stocks[alg].key]))
  const tokens = Object.fromEntries(ALGORITHMS.map((alg) => [alg, mintOne(keys[alg])]))
  const padTo = tokens.RS256.length
  const short = tokens.HS256.length
  tokens['HS256 padded'] = mintOne(keys.HS256, { pad: 'x'.repeat(Math.round((padTo - short) * 3 / 4)) })
  pinSelf(CORES.load)
  const redis = await startRedis(work, { cpu: CORES.load })
  const env = (alg) => ({ NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: redis.redisUrl, ...keys[alg].env })
  const servers = { bare: await startNode('bare', join(root, 'bench/servers/bare.js'), {}, [], { cpu: CORES.server }) }
  for (const alg of ALGORITHMS) servers[alg] = await startNode(`tokengate ${alg}`, join(root, 'dist/main.js'), env(alg), [], { cpu: CORES.server })
  const cases = [
    ['bare Fastify, no Authorization', 'bare', null],
    [`bare Fastify, Authorization of ${padTo} chars`, 'bare', tokens.RS256],
    ...ALGORITHMS.map((alg) => [`tokengate ${alg} warm (${tokens[alg].length} chars)`, alg, tokens[alg], alg]),
    [`tokengate HS256 warm, padded (${tokens['HS256 padded'].length} chars)`, 'HS256', tokens['HS256 padded'], 'HS256']
  ]
  const results = new Map(cases.map(([name]) => [name, []]))
  process.stderr.write(`load average ${loadAverage().join(' ')}\n`)
  for (let r = 0; r < Number(opts.rounds); r++) {
    for (const [name, server, token, alg] of cases) {
      const { port, pid } = servers[server]
      if (coldS > 0 && alg !== undefined) {
        const { stock } = stocks[alg]
        const cold = stock.requests(stock.take(coldS * COLD_RPS), `GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer `)
        await generate({ port, requests: cold, connections: 50, durationS: coldS })
      }
      const requests = buildRequest({ host: `127.0.0.1:${port}`, path: '/auth/verify', token })
      await generate({ port, requests, connections: 50, durationS: 1 })
      const before = cpuSeconds(pid)
      const run = await generate({ port, requests, connections: 50, durationS: Number(opts.duration) })
      if (run.non2xx > 0) throw new Error(`${name}: ${run.non2xx} non-2xx`)
      const us = (cpuSeconds(pid) - before) * 1e6 / run.requests
      results.get(name).push(us)
      process.stderr.write(`round ${r + 1} ${name.padEnd(48)} ${run.rps} req/s ${us.toFixed(1)} µs/req\n`)
    }
  }
  process.stdout.write(`load average ${loadAverage().join(' ')}\n`)
  for (const [name, list] of results) process.stdout.write(`${name.padEnd(48)} median ${median(list).toFixed(1)} µs/req (${Math.min(...list).toFixed(1)}-${Math.max(...list).toFixed(1)})\n`)
} finally {
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
