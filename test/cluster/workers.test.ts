import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { spawn } from 'node:child_process'
import { MAIN, runCommand } from '../helpers/cli.js'
import { freePort, startRedis, type RedisServer } from '../helpers/redis.js'
import { SECRET, sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { waitFor } from '../helpers/until.js'
import { onNewConnection, startCluster, type ClusterGateway } from './cluster-process.js'

const REQUESTS = 12

let redis: RedisServer
t.before(async () => { redis = await startRedis() })
t.teardown(async () => { await redis.stop() })

// A cluster is three processes that each load the app: the tests that leave one serving share it
// (the one that kills a worker waits for its replacement). Started by the first that needs it.
let shared: Promise<ClusterGateway> | undefined
async function servingCluster (): Promise<ClusterGateway> {
  shared ??= startCluster(t, { WORKERS: '2', REDIS_URL: redis.url })
  return await shared
}

function metricValue (text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

t.test('WORKERS=2: two workers share the port, and a logout through one is enforced by every one', async (t) => {
  const gateway = await servingCluster()
  t.equal(gateway.workerPids().length, 2, 'the primary runs two worker processes')
  const token = sign()
  for (let i = 0; i < 4; i++) t.equal((await onNewConnection(`${gateway.base}/auth/verify`, { token })).status, 200)
  const logout = await onNewConnection(`${gateway.base}/auth/logout`, { method: 'POST', token })
  t.equal(logout.status, 200)
  const after = await Promise.all(Array.from({ length: REQUESTS }, async () => (await onNewConnection(`${gateway.base}/auth/verify`, { token })).status))
  t.same(after, Array(REQUESTS).fill(401), 'denied on every new connection, whichever worker took it')
})

t.test('audit records from every worker land in one hash chain (the primary writes them)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-cluster-audit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'audit.log')
  const gateway = await startCluster(t, { WORKERS: '2', REDIS_URL: redis.url, AUDIT_LOG_FILE: file, RATE_LIMIT_LOGOUT_PER_MIN: '0' })
  for (let i = 0; i < 6; i++) {
    const res = await onNewConnection(`${gateway.base}/auth/logout`, { method: 'POST', token: sign({ claims: { sub: `audit-user-${i}` } }) })
    t.equal(res.status, 200)
  }
  gateway.child.kill('SIGTERM')
  const [code] = await gateway.exited
  t.equal(code, 0)
  const verified = await runCommand(['audit', 'verify', file])
  t.equal(verified.code, 0, verified.stdout + verified.stderr)
  t.match(verified.stdout, /intact, 6 records/)
})

t.test('/metrics sums every worker: on the main port through any worker, and on METRICS_PORT from the primary', async (t) => {
  const metricsPort = await freePort()
  const split = await startCluster(t, { WORKERS: '2', REDIS_URL: redis.url, METRICS_PORT: String(metricsPort) })
  const together = await servingCluster()
  const allowed = 'tokengate_decisions_total{result="allow",reason="valid"}'
  // The shared cluster has served other tests' requests: count from here.
  const earlier = metricValue((await onNewConnection(`${together.base}/metrics`)).body, allowed)
  for (const gateway of [split, together]) {
    for (let i = 0; i < REQUESTS; i++) t.equal((await onNewConnection(`${gateway.base}/auth/verify`, { token: sign() })).status, 200)
  }
  const fromPrimary = await onNewConnection(`http://127.0.0.1:${metricsPort}/metrics`)
  t.equal(fromPrimary.status, 200)
  t.equal(metricValue(fromPrimary.body, allowed), REQUESTS, 'METRICS_PORT: both workers\' allows')
  t.equal((await onNewConnection(`${split.base}/metrics`)).status, 404, 'with METRICS_PORT the main port has no /metrics')
  for (let i = 0; i < 2; i++) {
    const scraped = await onNewConnection(`${together.base}/metrics`)
    t.equal(scraped.status, 200)
    t.equal(metricValue(scraped.body, allowed) - earlier, REQUESTS, `main port, scrape ${i + 1}: both workers' allows, whichever answered`)
    t.equal(metricValue(scraped.body, 'tokengate_breaker_state'), 0, 'the breaker gauge is the worst state, not a sum')
  }
})

t.test('a worker that dies is replaced while the others keep serving', async (t) => {
  const gateway = await servingCluster()
  const [victim, survivor] = gateway.workerPids()
  process.kill(victim, 'SIGKILL')
  // A connection handed over at the very instant of the crash is lost with the worker (node:cluster): wait for the primary to notice.
  await waitFor(() => gateway.logs().includes('worker exited; starting another'), 'the primary to see the exit')
  const token = sign()
  for (let i = 0; i < 4; i++) t.equal((await onNewConnection(`${gateway.base}/auth/verify`, { token })).status, 200, 'served during the replacement')
  await waitFor(() => gateway.workerPids().length === 2 && !gateway.workerPids().includes(victim), 'a replacement worker')
  t.ok(gateway.workerPids().includes(survivor), 'the other worker was left alone')
  const served = await Promise.all(Array.from({ length: 4 }, async () => (await onNewConnection(`${gateway.base}/auth/verify`, { token })).status))
  t.same(served, [200, 200, 200, 200], 'both workers serve again')
})

t.test('SIGTERM: the primary has every worker drain its in-flight requests, then all exit 0', async (t) => {
  const upstream = await startUpstream(t)
  let streaming = 0
  upstream.handle((_req, res) => {
    streaming++
    res.setHeader('content-length', '50')
    res.write('x'.repeat(25))
    setTimeout(() => res.end('y'.repeat(25)), 400)
  })
  const gateway = await startCluster(t, { WORKERS: '2', REDIS_URL: redis.url, UPSTREAM_URL: upstream.url })
  const workers = gateway.workerPids()
  const token = sign()
  const inFlight = Array.from({ length: 4 }, async () => await onNewConnection(`${gateway.base}/api/slow`, { token }))
  await waitFor(() => streaming === 4, 'four responses streaming')
  gateway.child.kill('SIGTERM')
  for (const result of await Promise.all(inFlight)) t.same(result, { status: 200, body: 'x'.repeat(25) + 'y'.repeat(25) }, 'arrived whole')
  const [code] = await gateway.exited
  t.equal(code, 0)
  const alive = workers.filter((pid) => { try { process.kill(pid, 0); return true } catch { return false } })
  t.same(alive, [], 'no worker outlives the primary')
  t.match(gateway.logs(), /draining workers and shutting down/)
})

t.test('a worker that cannot start (port taken) stops the primary at once with exit code 1', async (t) => {
  const taken = await startUpstream(t)
  const port = String(taken.port)
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', JWT_SECRET: SECRET, REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: port, WORKERS: '2', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let logs = ''
  child.stdout.on('data', (d: Buffer) => { logs += d.toString() })
  child.stderr.on('data', (d: Buffer) => { logs += d.toString() })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const started = Date.now()
  const code = await new Promise((resolve) => child.once('exit', resolve))
  t.equal(code, 1)
  t.ok(Date.now() - started < 10_000, `exited after ${Date.now() - started} ms`)
  t.match(logs, /worker failed to start/)
})
