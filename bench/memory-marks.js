// Issue 12: RSS of one replica's complete revocation state with 1,000,000 live marks, and the time
// to load them from Redis at start. Needs `npm run build` and redis-server on PATH.
// Usage: npm run bench:marks, or node --expose-gc bench/memory-marks.js [marks]
// The machine may be shared: CPU time of the load (this process and Redis) is printed beside the wall time.
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { ReplicaState } from '../dist/revocation/replica-state.js'
import { bucketExpiry, bucketOf, indexRecord } from '../dist/revocation/redis/load-index.js'
import { RedisStore } from '../dist/revocation/redis/redis-store.js'

const MARKS = Number(process.argv[2] ?? 1_000_000)
const PORT = 20_000 + Math.floor(Math.random() * 20_000)
const silent = { warn: () => {}, info: () => {} }
const gc = globalThis.gc ?? (() => {})
const rss = () => { gc(); gc(); return process.memoryUsage().rss }
const RETENTION_S = 8 * 86_400
const cpuMs = ({ user, system }) => Math.round((user + system) / 1000)
const redisCpuMs = async (client) => {
  const info = await client.info('cpu')
  return Math.round((Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1])) * 1000)
}

const server = spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
try {
  const client = new Redis({ port: PORT, host: '127.0.0.1', retryStrategy: (n) => Math.min(n * 50, 500) })
  client.on('error', () => {})
  while (await client.ping().catch(() => null) !== 'PONG') await sleep(50)
  // Marks as the store writes them (jti:<uuid-like id> = 1 with a TTL, and its load-index record),
  // without a script call each: the load, not the writes, is measured.
  const now = Math.floor(Date.now() / 1000)
  for (let i = 0; i < MARKS; i += 10_000) {
    const pipeline = client.pipeline()
    for (let j = i; j < Math.min(MARKS, i + 10_000); j++) {
      const id = `${j.toString(36).padStart(8, '0')}-4b1c-9c2a-7e3f5a1d0b6c`
      const expiresAt = now + 900 + (j % 3600)
      const bucket = bucketOf(expiresAt, now, RETENTION_S)
      pipeline.set(`revoked:jti:${id}`, '1', 'EX', expiresAt - now)
      pipeline.append(`revoked:idx:${bucket}`, indexRecord({ kind: 'jti', id, expiresAt }))
      pipeline.expireat(`revoked:idx:${bucket}`, bucketExpiry(bucket, expiresAt))
    }
    await pipeline.exec()
  }
  const store = new RedisStore({ topology: { mode: 'standalone', url: `redis://127.0.0.1:${PORT}` }, password: null, keyPrefix: 'revoked:', minReplicasAck: 0 }, silent, { logRetentionS: RETENTION_S })
  await store.connect(5000)
  const before = rss()
  const redisBefore = await redisCpuMs(client)
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const replica = new ReplicaState(store, { maxStalenessMs: 1000 })
  if (!await replica.whenLoaded(60_000)) throw new Error('not loaded')
  const loadMs = performance.now() - started
  const loadCpu = cpuMs(process.cpuUsage(cpuBefore))
  const redisCpu = await redisCpuMs(client) - redisBefore
  const after = rss()
  const held = replica.marks.size(Math.floor(Date.now() / 1000))
  process.stdout.write(JSON.stringify({
    node: process.version,
    marks: held,
    load_ms: Math.round(loadMs),
    load_cpu_ms: loadCpu,
    redis_cpu_ms: redisCpu,
    load_target_met: loadMs < 3000,
    rss_growth_mb: Math.round((after - before) / 1e5) / 10,
    rss_target_met: after - before <= 40e6,
    table_mb: Math.round(replica.marks.bytes / 1e5) / 10,
    bytes_per_mark: Math.round((after - before) / held)
  }, null, 2) + '\n')
  replica.close()
  await store.close()
  client.disconnect()
} finally {
  server.kill('SIGKILL')
}
