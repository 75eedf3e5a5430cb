import { Cluster, type Result } from 'ioredis'
import type { RedisConfig } from '../config/types.js'
import { createRedisClient, type RedisClient } from '../revocation/redis-client.js'
import { BUCKET_S, bucketOf, type DistinctEntry, type MonitorState } from './monitor-state.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tgWindowCount: (key: string, bucket: number, n: number, oldest: number, ttl: number) => Result<number, Context>
    tgWindowDistinct: (key: string, nowMs: number, windowMs: number, ttl: number, member: string) => Result<number[], Context>
    tgWindowDistinctMany: (numberOfKeys: number, ...keysThenArgs: Array<string | number>) => Result<number[], Context>
  }
}

// One key per call (Cluster-safe): a hash of minute buckets, old buckets dropped as it is read.
const COUNT_SCRIPT = `
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local all = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #all, 2 do
  if tonumber(all[i]) < tonumber(ARGV[3]) then redis.call('HDEL', KEYS[1], all[i]) else total = total + tonumber(all[i + 1]) end
end
return total`

// Many keys per call: ARGV is now, window, ttl, then one member per key.
const DISTINCT_SCRIPT = `
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local counts = {}
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[i + 3])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  redis.call('EXPIRE', key, ARGV[3])
  counts[i] = redis.call('ZCARD', key)
end
return counts`

// Keys per script call: one call runs inside Redis at about 2 µs a key, so a batch blocks it for ~1 ms at most.
const DISTINCT_BATCH = 500

const COMMAND_TIMEOUT_MS = 2000

/** Monitor state shared by every replica through the configured Redis (standalone, Sentinel or Cluster). */
export class RedisMonitorState implements MonitorState {
  readonly name = 'redis'
  readonly #client: RedisClient
  readonly #prefix: string
  readonly #now: () => number

  constructor (config: RedisConfig, onError: (message: string) => void, now: () => number = Date.now) {
    this.#now = now
    this.#prefix = `${config.keyPrefix}monitor:`
    this.#client = createRedisClient(config, { name: 'monitor', autoPipelining: true, commandTimeoutMs: COMMAND_TIMEOUT_MS })
    this.#client.defineCommand('tgWindowCount', { numberOfKeys: 1, lua: COUNT_SCRIPT })
    // One script, two shapes: one declared key (ioredis routes it to its slot in a Cluster), or
    // as many keys as the call names (given first, as with EVALSHA).
    this.#client.defineCommand('tgWindowDistinct', { numberOfKeys: 1, lua: DISTINCT_SCRIPT })
    this.#client.defineCommand('tgWindowDistinctMany', { lua: DISTINCT_SCRIPT })
    this.#client.on('error', (err: Error) => onError(err.message))
    this.#client.connect().catch((err: Error) => onError(err.message))
  }

  get ready (): boolean {
    return this.#client.status === 'ready'
  }

  async count (key: string, n: number, windowS: number): Promise<number> {
    const bucket = bucketOf(this.#now())
    const oldest = bucket - Math.ceil(windowS / BUCKET_S) + 1
    return await this.#client.tgWindowCount(this.#prefix + key, bucket, n, oldest, windowS + BUCKET_S)
  }

  async distinct (entries: readonly DistinctEntry[], windowS: number): Promise<number[]> {
    const now = this.#now()
    const windowMs = windowS * 1000
    // Cluster keys live in different slots: one key per call there (auto-pipelined per node).
    if (this.#client instanceof Cluster) {
      const client = this.#client
      return (await Promise.all(entries.map(async ({ key, member }) => await client.tgWindowDistinct(this.#prefix + key, now, windowMs, windowS, member)))).flat()
    }
    const calls: Array<Promise<number[]>> = []
    for (let at = 0; at < entries.length; at += DISTINCT_BATCH) {
      const batch = entries.slice(at, at + DISTINCT_BATCH)
      calls.push(this.#client.tgWindowDistinctMany(batch.length, ...batch.map(({ key }) => this.#prefix + key), now, windowMs, windowS, ...batch.map(({ member }) => member)))
    }
    return (await Promise.all(calls)).flat()
  }

  async once (key: string, ttlS: number): Promise<boolean> {
    return await this.#client.set(this.#prefix + key, '1', 'EX', ttlS, 'NX') === 'OK'
  }

  async push (key: string, item: string, cap: number, ttlS: number): Promise<void> {
    const full = this.#prefix + key
    // Same key in every command: one slot, so the MULTI is Cluster-safe.
    await this.#client.multi().lpush(full, item).ltrim(full, 0, cap - 1).expire(full, ttlS).exec()
  }

  async range (key: string, limit: number): Promise<string[]> {
    return await this.#client.lrange(this.#prefix + key, 0, limit - 1)
  }

  async close (): Promise<void> {
    await this.#client.quit().catch(() => this.#client.disconnect())
  }
}
