// CPU per request of a server process, A/B: node bench/cpu-per-request.js NAME=ENTRY ... [--requests N] [--rounds R]
// ENTRY is a tokengate build's main.js (served with an HS256 key, a known token on
// AUTH_PREFIX/verify) or a bench/servers/*.js file. Each round starts every server
// in turn, discards a warm-up, then reads utime+stime from /proc/<pid>/stat around
// N requests: rounds alternate the servers so that a busy neighbour hits them alike. Servers run
// pinned to CPU 1 and autocannon (this process) to CPU 0 when taskset is there, as in npm run bench.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { pinSelf } from './lib/pinning.js'
import { startNode, stopAll } from './lib/processes.js'
import { CORES } from './lib/scenarios.js'
import { keyFor, mintOne } from './lib/tokens.js'

const CLOCK_TICKS = 100 // USER_HZ on Linux
const CONNECTIONS = 10

const { values, positionals } = parseArgs({ allowPositionals: true, options: { requests: { type: 'string', default: '60000' }, rounds: { type: 'string', default: '3' } } })
const requests = Number(values.requests)
const servers = positionals.map((arg) => { const [name, entry] = arg.split('='); return { name, entry: resolve(entry) } })

function cpuSeconds (pid) {
  // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

async function drive (url, token, amount) {
  return await new Promise((resolve, reject) => {
    autocannon({ url: `${url}/auth/verify`, connections: CONNECTIONS, amount, headers: { authorization: `Bearer ${token}` } },
      (err, result) => err ? reject(err) : resolve(result))
  })
}

const work = mkdtempSync(join(tmpdir(), 'tg-cpu-'))
const key = keyFor('HS256', work)
const token = mintOne(key)
const results = Object.fromEntries(servers.map(({ name }) => [name, []]))
const pinned = pinSelf(CORES.load)
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse()
    for (const { name, entry } of order) {
      const env = { NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ALLOW_MEMORY_STORE: 'true', ...key.env }
      const server = await startNode(name, entry, env, [], { cpu: pinned ? CORES.server : null })
      await drive(server.url, token, Math.round(requests / 5))
      const before = cpuSeconds(server.pid)
      const run = await drive(server.url, token, requests)
      const used = cpuSeconds(server.pid) - before
      await server.stop()
      if (run.non2xx > 0 || run.errors > 0) throw new Error(`${name}: ${run.non2xx} non-2xx, ${run.errors} errors`)
      results[name].push(used / requests * 1e6)
      process.stdout.write(`round ${round + 1} ${name}: ${(used / requests * 1e6).toFixed(1)} µs CPU/request, ${Math.round(run.requests.average)} req/s\n`)
    }
  }
} finally {
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
for (const [name, samples] of Object.entries(results)) {
  const sorted = [...samples].sort((a, b) => a - b)
  process.stdout.write(`${name}: ${sorted[0].toFixed(1)}–${sorted.at(-1).toFixed(1)} µs CPU/request (${samples.map((s) => s.toFixed(1)).join(', ')})\n`)
}
