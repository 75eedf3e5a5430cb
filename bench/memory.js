// npm run bench:memory: RSS of one tokengate process while it verifies
// 1 million distinct tokens (each one a signature check and a Redis lookup).
import { randomBytes } from 'node:crypto'
import { readFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { createSigner } from 'fast-jwt'
import { describeMachine } from './lib/machine.js'
import { startNode, stopAll } from './lib/processes.js'
import { startRedis } from './lib/redis.js'
import { keyFor } from './lib/tokens.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({ options: { tokens: { type: 'string', default: '1000000' }, connections: { type: 'string', default: '50' } } })
const total = Number(opts.tokens)
const log = (line) => process.stderr.write(line + '\n')

function rssMb (pid) {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
  return Math.round(kb / 1024)
}

const work = mkdtempSync(join(tmpdir(), 'tokengate-memory-'))
try {
  const redis = await startRedis(work)
  const key = keyFor('HS256', work)
  const gateway = await startNode('tokengate', join(root, 'dist/main.js'), {
    NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: redis.redisUrl, ...key.env
  })
  const startRss = rssMb(gateway.pid)
  // Minted on the fly (HS256 signs ~70k/s): a million pre-minted tokens would weigh on this process instead.
  const sign = createSigner({ key: key.signingKey, algorithm: 'HS256' })
  const now = Math.floor(Date.now() / 1000)
  const prefix = randomBytes(6).toString('base64url')
  let minted = 0
  let ok = 0
  let peak = startRss
  const started = performance.now()
  const sampler = setInterval(() => {
    const rss = rssMb(gateway.pid)
    peak = Math.max(peak, rss)
    log(`  ${ok.toLocaleString('en')} verified, RSS ${rss} MB`)
  }, 5000)
  await new Promise((resolve, reject) => {
    const instance = autocannon({
      url: gateway.url,
      connections: Number(opts.connections),
      amount: total,
      requests: [{
        method: 'GET',
        path: '/auth/verify',
        setupRequest: (req) => {
          const token = sign({ sub: `user-${minted % 1000}`, jti: `${prefix}-${minted++}`, iat: now, exp: now + 3600, scope: 'read' })
          req.headers = { authorization: `Bearer ${token}` }
          return req
        }
      }]
    }, (err, res) => err ? reject(err) : resolve(res))
    instance.on('response', (_client, status) => { if (status === 200) ok++ })
  })
  clearInterval(sampler)
  const seconds = (performance.now() - started) / 1000
  const endRss = rssMb(gateway.pid)
  const result = {
    date: new Date().toISOString(),
    tokens: total,
    verified: ok,
    seconds: Math.round(seconds),
    rps: Math.round(ok / seconds),
    rssStartMb: startRss,
    rssMb: endRss,
    peakRssMb: Math.max(peak, endRss),
    machine: describeMachine()
  }
  await stopAll()
  mkdirSync(join(root, 'bench/results'), { recursive: true })
  writeFileSync(join(root, 'bench/results/memory.json'), JSON.stringify(result, null, 2) + '\n')
  process.stdout.write(`RSS after ${ok.toLocaleString('en')} distinct tokens verified: ${endRss} MB (start ${startRss} MB, peak ${result.peakRssMb} MB; target < 150 MB: ${endRss < 150 ? 'met' : 'MISSED'})\n`)
} finally {
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
