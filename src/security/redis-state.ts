import type { Result } from 'ioredis'
import type { RedisConfig } from '../config/types.js'
import { createRedisClient, type RedisClient } from '../revocation/redis-client.js'
import { BUCKET_S, bucketOf, type MonitorState } from './monitor-state.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tgWindowCount: (key: string, bucket: number, n: number, oldest: number, ttl: number) => Result<number, Context>
    tgWindowDistinct: (key: string, member: string, nowMs: number, windowMs: number, ttl: number) => Result<number, Context>
    tgWindowDistinctMany: (...keysThenArgs: Array<string | number>) => Result<number[], Context>
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

const DISTINCT_SCRIPT = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])`

// The same for many keys at once (standalone and Sentinel: a script may touch keys of any slot there).
const DISTINCT_MANY_SCRIPT = `
local now, window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local out = {}
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[3 + i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  redis.call('EXPIRE', KEYS[i], ttl)
  out[i] = redis.call('ZCARD', KEYS[i])
end
return out`

// Keys per script call.
const DISTINCT_BATCH = 256
const COMMAND_TIMEOUT_MS = 2000

/** Monitor state shared by every replica through the configured Redis (standalone, Sentinel or Cluster). */
export class RedisMonitorState implements MonitorState {
  readonly name = 'redis'
  readonly #client: RedisClient
  readonly #prefix: string
  readonly #now: () => number
  readonly #cluster: boolean

  constructor (config: RedisConfig, onError: (message: string) => void, now: () => number = Date.now) {
    this.#now = now
    this.#cluster = config.topology.mode === 'cluster'
    this.#prefix = `${config.keyPrefix}monitor:`
    this.#client = createRedisClient(config, { name: 'monitor', autoPipelining: true, commandTimeoutMs: COMMAND_TIMEOUT_MS })
    this.#client.defineCommand('tgWindowCount', { numberOfKeys: 1, lua: COUNT_SCRIPT })
    this.#client.defineCommand('tgWindowDistinct', { numberOfKeys: 1, lua: DISTINCT_SCRIPT })
    this.#client.defineCommand('tgWindowDistinctMany', { lua: DISTINCT_MANY_SCRIPT })
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

  async distinct (pairs: ReadonlyArray<readonly [key: string, member: string]>, windowS: number): Promise<number[]> {
    const now = this.#now()
    if (this.#cluster) {
      // Keys of different slots: one call each (auto-pipelined per node).
      return await Promise.all(pairs.map(async ([key, member]) =>
        await this.#client.tgWindowDistinct(this.#prefix + key, member, now, windowS * 1000, windowS)))
    }
    const counts: number[] = []
    for (let start = 0; start < pairs.length; start += DISTINCT_BATCH) {
      const batch = pairs.slice(start, start + DISTINCT_BATCH)
      counts.push(...await this.#client.tgWindowDistinctMany(batch.length, ...batch.map(([key]) => this.#prefix + key),
        now, windowS * 1000, windowS, ...batch.map(([, member]) => member)))
    }
    return counts
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
