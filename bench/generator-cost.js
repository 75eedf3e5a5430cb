// Which load generator costs least: node bench/generator-cost.js [--duration 3] [--rounds 2]
// The server is node:http's empty 200 pinned to CPU 1, the generator this process pinned to
// CPU 0. For each generator, a distinct token per request (cold) and one token (warm): its own
// CPU per request and the share of its core it used. Writes bench/results/generator-cost.json.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { coreBusy, coreTimes, cpuSeconds, loadAverage } from './lib/cpu.js'
import { buildRequest, generate } from './lib/generator.js'
import { load } from './lib/load.js'
import { pinSelf } from './lib/pinning.js'
import { startNode, stopAll } from './lib/processes.js'
import { median, round } from './lib/stats.js'
import { TokenPool, keyFor, mintOne, mintPools } from './lib/tokens.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({ options: { duration: { type: 'string', default: '3' }, rounds: { type: 'string', default: '2' }, connections: { type: 'string', default: '50' } } })
const durationS = Number(opts.duration)
const connections = Number(opts.connections)
const PER_RUN = 60_000 * durationS

const work = mkdtempSync(join(tmpdir(), 'tokengate-gencost-'))
try {
  const key = keyFor('HS256', work)
  const token = mintOne(key)
  const rounds = Number(opts.rounds)
  const tokens = (await mintPools([{ key, count: PER_RUN * rounds * 2 }])).get('HS256')
  const pinned = pinSelf(0)
  const server = await startNode('node:http', join(root, 'bench/servers/node-http.js'), {}, [], { cpu: 1 })
  const host = `127.0.0.1:${server.port}`
  let cursor = 0
  const nextPool = () => { cursor += PER_RUN; return tokens.slice(cursor - PER_RUN, cursor) }
  const generators = {
    'autocannon, one token': () => load({ url: server.url, path: '/auth/verify', token, connections, durationS }),
    'autocannon, distinct tokens (setupRequest)': () => load({ url: server.url, path: '/auth/verify', pool: new TokenPool(nextPool()), connections, durationS }),
    'lean (node:net, pre-built), one token': () => generate({ port: server.port, requests: buildRequest({ host, path: '/auth/verify', token }), connections, durationS }),
    'lean (node:net, pre-built), distinct tokens': () => {
      const requests = nextPool().map((t) => buildRequest({ host, path: '/auth/verify', token: t }))
      return generate({ port: server.port, requests, connections, durationS })
    }
  }
  const results = Object.fromEntries(Object.keys(generators).map((name) => [name, []]))
  await generate({ port: server.port, requests: buildRequest({ host, path: '/', token }), connections, durationS: 1 })
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(generators)) {
      const cores = coreTimes()
      const serverCpu = cpuSeconds(server.pid)
      const self = process.cpuUsage()
      const result = await run()
      const used = process.cpuUsage(self)
      const busy = coreBusy(cores, coreTimes())
      const requests = result.requests + result.non2xx
      const row = {
        rps: result.rps,
        generatorUsPerRequest: round((used.user + used.system) / requests, 2),
        generatorCore: round((used.user + used.system) / 1e6 / result.seconds, 3),
        serverUsPerRequest: round((cpuSeconds(server.pid) - serverCpu) * 1e6 / requests, 2),
        coreBusy: busy
      }
      results[name].push(row)
      process.stderr.write(`round ${r + 1} ${name.padEnd(46)} ${String(row.rps).padStart(6)} req/s  generator ${row.generatorUsPerRequest} µs/req, ${Math.round(row.generatorCore * 100)} % of its core; server ${row.serverUsPerRequest} µs/req; cores ${busy.map((b) => Math.round(b * 100) + ' %').join(' / ')}\n`)
    }
  }
  const summary = Object.entries(results).map(([name, rows]) => ({
    generator: name,
    rps: median(rows.map((r) => r.rps)),
    generatorUsPerRequest: median(rows.map((r) => r.generatorUsPerRequest)),
    generatorCore: median(rows.map((r) => r.generatorCore)),
    serverUsPerRequest: median(rows.map((r) => r.serverUsPerRequest)),
    runs: rows
  }))
  process.stdout.write('\n' + summary.map((s) => `${s.generator.padEnd(46)} ${String(s.rps).padStart(6)} req/s  ${String(s.generatorUsPerRequest).padStart(6)} µs/req generator (${Math.round(s.generatorCore * 100)} % of a core)  server ${s.serverUsPerRequest} µs/req`).join('\n') + '\n')
  writeFileSync(join(root, 'bench/results/generator-cost.json'), JSON.stringify({ date: new Date().toISOString(), pinned, loadAverage: loadAverage(), durationS, connections, summary }, null, 2) + '\n')
} finally {
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
