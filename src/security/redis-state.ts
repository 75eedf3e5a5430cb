import type { Result } from 'ioredis'
import { LRUCache } from 'lru-cache'
import type { RedisConfig } from '../redis/redis-client.js'
import { createRedisClient, type RedisClient } from '../redis/redis-client.js'
import { logConnectionChanges, type ConnectionLogger } from '../redis/connection-log.js'
import { BUCKET_S, MAX_MEMBERS, bucketOf, type MonitorState } from './monitor-state.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tgWindowCount: (key: string, bucket: number, n: number, oldest: number, ttl: number) => Result<number, Context>
    tgFirstRecords: (current: string, previous: string, oldest: string, expireAt: string, now: string, batch: string) => Result<[number, string], Context>
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

// The first record of each key of a flush, in its window-long bucket (KEYS[1]) or the one before
// (KEYS[2]) while younger than the window: 2 HMGET and 1 HSET for the whole batch (+ EXPIREAT once
// per bucket and replica, when it writes). ARGV: oldest valid time, expire-at or '', now (time in
// base 36 ms), then the batch as one JSON array of [key, member] pairs. Answers the number of keys
// recorded now and, as JSON, [index, record] for the others ("time member"): a batch of new tokens,
// the common case, answers "{}". One JSON string each way, not two arguments and one reply element
// per key: ioredis spent 3-13 µs of the gateway's CPU per pair on those.
const FIRST_SCRIPT = `
local oldest = tonumber(ARGV[1])
local batch = cjson.decode(ARGV[4])
local n = #batch
local fields = {}
for i = 1, n do fields[i] = batch[i][1] end
local current = redis.call('HMGET', KEYS[1], unpack(fields))
local previous = redis.call('HMGET', KEYS[2], unpack(fields))
local known, writes = {}, {}
for i = 1, n do
  local record = current[i] or previous[i]
  if record and tonumber(string.sub(record, 1, string.find(record, ' ', 1, true) - 1), 36) <= oldest then record = false end
  if record then
    known[#known + 1] = { i, record }
  else
    writes[#writes + 1] = fields[i]
    writes[#writes + 1] = ARGV[3] .. ' ' .. batch[i][2]
  end
end
if #writes > 0 then
  redis.call('HSET', KEYS[1], unpack(writes))
  if ARGV[2] ~= '' then redis.call('EXPIREAT', KEYS[1], ARGV[2]) end
end
return { #writes / 2, cjson.encode(known) }`

// Keys per script call (Lua's unpack has a stack limit of about 8000 values).
const FIRST_BATCH = 1000
// Shards of the first-record buckets: one in a single Redis; spread over the nodes of a Cluster.
const CLUSTER_SHARDS = 8
const COMMAND_TIMEOUT_MS = 2000

/** FNV-1a: the same shard for a key on every replica. */
function shardOf (key: string, shards: number): number {
  if (shards === 1) return 0
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193)
  return (hash >>> 0) % shards
}

/** Monitor state shared by every replica through the configured Redis (standalone, Sentinel or Cluster). */
export class RedisMonitorState implements MonitorState {
  readonly name = 'redis'
  readonly #client: RedisClient
  readonly #prefix: string
  readonly #now: () => number
  readonly #shards: number
  // Bucket hashes whose expiry this replica has set (old ones age out).
  readonly #expiring = new LRUCache<string, true>({ max: 64 })

  readonly #down: () => boolean

  constructor (config: RedisConfig, log: ConnectionLogger, now: () => number = Date.now) {
    this.#now = now
    this.#prefix = `${config.keyPrefix}monitor:`
    this.#shards = config.topology.mode === 'cluster' ? CLUSTER_SHARDS : 1
    this.#client = createRedisClient(config, { name: 'monitor', autoPipelining: true, commandTimeoutMs: COMMAND_TIMEOUT_MS })
    this.#client.defineCommand('tgWindowCount', { numberOfKeys: 1, lua: COUNT_SCRIPT })
    this.#client.defineCommand('tgFirstRecords', { numberOfKeys: 2, lua: FIRST_SCRIPT })
    this.#down = logConnectionChanges(this.#client, 'security monitor', log)
    this.#client.connect().catch(() => {}) // an 'error' event too, logged once
  }

  /** Lost its connection (already logged once): a failed command says nothing new. */
  get down (): boolean {
    return this.#down()
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
   * The first member of each key's window is a field of one hash per window-long
   * bucket, written by FIRST_SCRIPT for a whole flush at once: a few commands
   * per flush, not one per key (one ioredis command costs the gateway 5-9 µs).
   * Only another member costs more: `spread:` is a sorted set of members by
   * first record, created then, and capped at MAX_MEMBERS so that no key can
   * grow it without limit.
   */
  async distinct (pairs: ReadonlyArray<readonly [key: string, member: string]>, windowS: number): Promise<number[]> {
    const now = this.#now()
    // Pair indexes by key: almost always one each (a flush sends a token again only for a new address).
    const pairsOf = new Map<string, number[]>()
    pairs.forEach(([key], i) => {
      const list = pairsOf.get(key)
      if (list === undefined) pairsOf.set(key, [i])
      else list.push(i)
    })
    const keys = [...pairsOf.keys()]
    const stored = await this.#firstRecords(keys, keys.map((key) => pairs[(pairsOf.get(key) as number[])[0]][1]), now, windowS)
    const counts: number[] = new Array(pairs.length).fill(0)
    const followUps: Array<Promise<void>> = []
    keys.forEach((key, k) => {
      const indexes = pairsOf.get(key) as number[]
      const record = stored[k]
      if (indexes.length === 1 && (record === null || record.slice(record.indexOf(' ') + 1) === pairs[indexes[0]][1])) {
        counts[indexes[0]] = record === null ? 1 : 0
        return
      }
      followUps.push(this.#record(key, [...new Set(indexes.map((i) => pairs[i][1]))], record, now, windowS).then((answers) => {
        // A pair repeated within the call is already recorded the second time.
        for (const i of indexes) {
          counts[i] = answers.get(pairs[i][1]) ?? 0
          answers.delete(pairs[i][1])
        }
      }))
    })
    await Promise.all(followUps)
    return counts
  }

  /** Records each key's member as its first unless one is known: null when recorded, else the stored record. */
  async #firstRecords (keys: readonly string[], members: readonly string[], now: number, windowS: number): Promise<Array<string | null>> {
    const windowMs = windowS * 1000
    const bucket = Math.floor(now / windowMs)
    const byShard = new Map<number, number[]>()
    keys.forEach((key, i) => {
      const shard = shardOf(key, this.#shards)
      const list = byShard.get(shard)
      if (list === undefined) byShard.set(shard, [i])
      else list.push(i)
    })
    const out: Array<string | null> = new Array(keys.length).fill(null)
    const calls: Array<Promise<void>> = []
    for (const [shard, indexes] of byShard) {
      // A hash tag: both buckets of a shard in one slot (Cluster).
      const current = `${this.#prefix}first:{${shard}}:${bucket}`
      const previous = `${this.#prefix}first:{${shard}}:${bucket - 1}`
      for (let start = 0; start < indexes.length; start += FIRST_BATCH) {
        const batch = indexes.slice(start, start + FIRST_BATCH)
        // Expiry set once per bucket and replica: the bucket is read as the previous one for a window more.
        const expireAt = this.#expiring.get(current) === undefined ? String((bucket + 2) * windowS) : ''
        // Well-formed, so that cjson can read the batch: a lone surrogate becomes U+FFFD, as in the UTF-8 a Redis argument carries.
        const pairs = JSON.stringify(batch.map((i) => [keys[i].toWellFormed(), members[i].toWellFormed()]))
        calls.push(this.#client.tgFirstRecords(current, previous, String(now - windowMs), expireAt, now.toString(36), pairs).then(([recorded, known]) => {
          // Lua's cjson encodes an empty table as an object.
          if (known !== '{}') for (const [j, record] of JSON.parse(known) as Array<[number, string]>) out[batch[j - 1]] = record
          // The script set the expiry when it wrote the hash: it did if it recorded anything.
          if (recorded > 0) this.#expiring.set(current, true)
        }))
      }
    }
    await Promise.all(calls)
    return out
  }

  async #record (key: string, members: readonly string[], stored: string | null, now: number, windowS: number): Promise<Map<string, number>> {
    const answers = new Map<string, number>()
    let storedMember = members[0]
    let at = now
    if (stored === null) {
      answers.set(storedMember, 1)
    } else {
      const space = stored.indexOf(' ')
      at = parseInt(stored.slice(0, space), 36)
      storedMember = stored.slice(space + 1)
    }
    const others = members.filter((member) => member !== storedMember)
    if (others.length === 0) return answers
    const spread = `${this.#prefix}spread:${key}`
    const transaction = this.#client.multi()
      .zremrangebyscore(spread, '-inf', now - windowS * 1000)
      // GT: the first record may be newer than the set's (the old one left the window and was written again).
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
