import type { Result } from 'ioredis'
import type { RedisConfig } from '../config/types.js'
import { createRedisClient, type RedisClient } from '../revocation/redis-client.js'
import { BUCKET_S, MAX_MEMBERS, bucketOf, type MonitorState } from './monitor-state.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tgWindowCount: (key: string, bucket: number, n: number, oldest: number, ttl: number) => Result<number, Context>
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

  /**
   * A distinct window is two keys. `first:` holds the first member recorded and
   * when, written with SET NX GET: one command for a new key, and its reply
   * says whether the member is already known. Only another member costs more:
   * `spread:` is a sorted set of members by first record, created then, and
   * capped at MAX_MEMBERS so that no key can grow it without limit. Every
   * command names one key (Cluster-safe, auto-pipelined per node); the pairs
   * of one key share one SET and at most one transaction.
   */
  async distinct (pairs: ReadonlyArray<readonly [key: string, member: string]>, windowS: number): Promise<number[]> {
    const now = this.#now()
    const membersOf = new Map<string, Set<string>>()
    for (const [key, member] of pairs) {
      const members = membersOf.get(key)
      if (members === undefined) membersOf.set(key, new Set([member]))
      else members.add(member)
    }
    const answers = new Map<string, Map<string, number>>()
    await Promise.all([...membersOf].map(async ([key, members]) => {
      answers.set(key, await this.#record(key, [...members], now, windowS))
    }))
    // A pair repeated within the call is already recorded the second time.
    return pairs.map(([key, member]) => {
      const byMember = answers.get(key)
      const count = byMember?.get(member) ?? 0
      byMember?.delete(member)
      return count
    })
  }

  async #record (key: string, members: readonly string[], now: number, windowS: number): Promise<Map<string, number>> {
    const first = `${this.#prefix}first:${key}`
    const record = `${now.toString(36)} ${members[0]}`
    const answers = new Map<string, number>()
    const stored = await this.#client.set(first, record, 'EX', windowS, 'NX', 'GET')
    let storedMember = members[0]
    let at = now
    const space = stored === null ? -1 : stored.indexOf(' ')
    const storedAt = stored === null ? NaN : parseInt(stored.slice(0, space), 36)
    if (stored !== null && storedAt > now - windowS * 1000) {
      storedMember = stored.slice(space + 1)
      at = storedAt
    } else {
      // Absent, or older than the window by this replica's clock (it differs from Redis' expiry): a new first record.
      if (stored !== null) await this.#client.set(first, record, 'EX', windowS)
      answers.set(storedMember, 1)
    }
    const others = members.filter((member) => member !== storedMember)
    if (others.length === 0) return answers
    const spread = `${this.#prefix}spread:${key}`
    const transaction = this.#client.multi()
      .zremrangebyscore(spread, '-inf', now - windowS * 1000)
      // GT: the first record may be newer than the set's (the first key expired and was written again).
      .zadd(spread, 'GT', at, storedMember)
      .zcard(spread)
    for (const member of others) transaction.zadd(spread, 'NX', now, member)
    // Keeps the MAX_MEMBERS most recent.
    transaction.zremrangebyrank(spread, 0, -(MAX_MEMBERS + 1)).expire(spread, windowS)
    const replies = await transaction.exec()
    if (replies === null) throw new Error('monitor window transaction aborted')
    for (const [err] of replies) if (err !== null) throw err
    let held = replies[2][1] as number
    others.forEach((member, i) => {
      const added = replies[3 + i][1] === 1
      if (added) held = Math.min(held + 1, MAX_MEMBERS)
      answers.set(member, added ? held : 0)
    })
    return answers
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
