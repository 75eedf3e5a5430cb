import { Redis, type Result } from 'ioredis'
import type { RedisConfig } from '../../redis/redis-client.js'
import { Failures, GatewayError } from '../../errors.js'
import { entryArgs } from './log-entry.js'
import { LogFollower } from './log-follower.js'
import { bucketExpiry, bucketOf, indexRecord } from './load-index.js'
import { INDEX_SCRIPT, LOG_SCRIPT, MARK_SCRIPT } from './mark-script.js'
import { MgetBatcher } from './mget-batch.js'
import type { RollForwardStats } from './roll-forward.js'
import type { LogRecoveryOptions } from './log-recovery.js'
import { ClusterWriter, type Executed, type MarkMode, type Write } from './cluster-write.js'
import { connectClient, createRedisClient, type RedisClient } from '../../redis/redis-client.js'
import { logConnectionChanges } from '../../redis/connection-log.js'
import { decide, RedisKeys } from './redis-keys.js'
import { perKind } from '../mark-kind.js'
import type { Clock, LogListener, LookupQuery, MarkKind, RevocationEvent, RevocationStore, StoreStats } from '../store.js'
import { nowSeconds } from '../store.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tgMark: (key: string, mode: MarkMode, value: string, ttl: number, ...entry: string[]) => Result<number, Context>
    tgMarkLogged: (key: string, log: string, bucket: string, mode: MarkMode, value: string, ttl: number, ...entry: Array<string | Buffer>) => Result<number, Context>
    tgLog: (log: string, ...entry: string[]) => Result<string, Context>
    tgIndex: (bucket: string, record: Buffer, expireAt: string) => Result<number, Context>
  }
}

const WRITE_TIMEOUT_MS = 2000
const WAIT_TIMEOUT_MS = 1000
// Frees a batch stuck on a dead path; the checker's own budget (REVOCATION_CHECK_TIMEOUT_MS) is far shorter.
const LOOKUP_TIMEOUT_MS = 1000
/** XREAD BLOCK of the log follower: the replica proves itself current at least this often. */
export const LOG_BLOCK_MS = 250
const DEFAULT_LOG_RETENTION_S = 8 * 86_400
/** Far past a write's budget and a normal background roll-forward: a pending entry this old lost its writer. */
const RECOVERY_MIN_IDLE_MS = 60_000
const RECOVERY_EVERY_MS = 30_000
/** Completed Cluster writes are acknowledged with the next log write, or alone after this. */
const ACK_DELAY_MS = 1000

export interface RedisStoreOptions {
  /** How long log entries are kept: the longest lifetime of any mark (markLifetimeS, mark-lifetime.ts). */
  readonly logRetentionS?: number
  /** Stamps the expiry of each log entry; Redis' own TTLs keep real time whatever it says. */
  readonly now?: Clock
  /** Cluster writes answered 503 that may still roll forward in the background (see RollForward). */
  readonly maxPendingRollForwards?: number
  /** Cluster: when a log entry left pending counts as abandoned by its writer, and how often replicas look (see LogRecovery). */
  readonly recovery?: Partial<LogRecoveryOptions>
  /** How far before its last entry the log is replayed after a full load (RELOAD_OVERLAP_MS, 5 s; see LogFollower). */
  readonly reloadOverlapMs?: number
}

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void, error?: (obj: object, msg: string) => void }

/**
 * Redis-backed revocation state shared by every replica. Three connections:
 * batched lookups (only while a replica's own state may be stale), writes
 * (each mark with its log entry), and the log follower that keeps every
 * replica's complete local state current.
 */
export class RedisStore implements RevocationStore {
  readonly name = 'redis'
  readonly keys: RedisKeys
  readonly #lookup: RedisClient
  readonly #write: RedisClient
  readonly #config: RedisConfig
  readonly #log: Logger
  readonly #batcher: MgetBatcher | null
  readonly #retentionMs: string
  readonly #retentionS: number
  readonly #reloadOverlapMs: number | undefined
  readonly #now: Clock
  readonly #clusterWriter: ClusterWriter | null
  #follower: { client: RedisClient, follower: LogFollower } | null = null

  constructor (config: RedisConfig, log: Logger, options: RedisStoreOptions = {}) {
    this.#config = config
    this.#log = log
    this.#retentionS = options.logRetentionS ?? DEFAULT_LOG_RETENTION_S
    this.#now = options.now ?? Date.now
    this.#reloadOverlapMs = options.reloadOverlapMs
    this.#retentionMs = String(this.#retentionS * 1000)
    this.keys = new RedisKeys(config.keyPrefix)
    const cluster = config.topology.mode === 'cluster'
    // Concurrent lookups share round trips: one batched MGET (standalone, Sentinel) or auto-pipelined GETs (cluster).
    this.#lookup = createRedisClient(config, { name: 'lookup', autoPipelining: cluster, commandTimeoutMs: LOOKUP_TIMEOUT_MS })
    this.#batcher = this.#lookup instanceof Redis ? new MgetBatcher(this.#lookup, this.keys) : null
    this.#write = createRedisClient(config, { name: 'write', commandTimeoutMs: WRITE_TIMEOUT_MS })
    this.#write.defineCommand('tgMark', { numberOfKeys: 1, lua: MARK_SCRIPT })
    this.#write.defineCommand('tgMarkLogged', { numberOfKeys: 3, lua: MARK_SCRIPT })
    this.#write.defineCommand('tgLog', { numberOfKeys: 1, lua: LOG_SCRIPT })
    this.#write.defineCommand('tgIndex', { numberOfKeys: 1, lua: INDEX_SCRIPT })
    this.#clusterWriter = cluster
      ? new ClusterWriter(this.#write, this.keys, async (pipeline) => await this.#exec(pipeline), log, {
        budgetMs: WRITE_TIMEOUT_MS,
        maxPending: options.maxPendingRollForwards,
        recovery: { minIdleMs: options.recovery?.minIdleMs ?? RECOVERY_MIN_IDLE_MS, everyMs: options.recovery?.everyMs ?? RECOVERY_EVERY_MS },
        ackDelayMs: ACK_DELAY_MS
      })
      : null
    // ioredis reconnects by itself; without a listener an error event would crash the process.
    logConnectionChanges(this.#lookup, 'revocation lookups', log)
    logConnectionChanges(this.#write, 'revocation writes', log)
  }

  /** Connects both clients; resolves when ready or rejects after timeoutMs. */
  async connect (timeoutMs: number): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs)
    await Promise.all([this.#lookup, this.#write].map(async (client) => await Promise.race([
      connectClient(client),
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('redis connect timed out')), { once: true }))
    ])))
  }

  async lookup (query: LookupQuery): Promise<MarkKind | null> {
    if (this.#batcher !== null) return await this.#batcher.lookup(query)
    // Keys live in different slots; auto-pipelining sends one batch per node, concurrently.
    const values = await Promise.all(this.keys.lookupKeys(query).map(async (key) => await this.#lookup.get(key)))
    return decide(values, query.iat)
  }

  async write (event: RevocationEvent): Promise<boolean> {
    const fresh = await this.#mark(event, event.expiresAt - nowSeconds(this.#now))
    // Only a jti mark's answer means something: session marks are set, user and global marks merged.
    return event.kind !== 'jti' || fresh
  }

  /** What one revocation writes: its mark (key, merge mode, value, TTL), its log entry and its index record. */
  #writeOf (event: RevocationEvent, ttlS: number): Write {
    const entry = entryArgs(event, this.#retentionMs)
    const bucket = bucketOf(event.expiresAt, nowSeconds(this.#now), this.#retentionS)
    const index = { key: this.keys.index(bucket), record: indexRecord(event), expireAt: String(bucketExpiry(bucket, event.expiresAt)) }
    const ttl = Math.max(1, Math.ceil(ttlS))
    switch (event.kind) {
      case 'jti': return { key: this.keys.mark('jti', event.issuer, event.id), mode: 'nx', value: '1', ttl, entry, index }
      case 'session': return { key: this.keys.mark('session', event.issuer, event.id), mode: 'set', value: '1', ttl, entry, index }
      case 'user': return { key: this.keys.mark('user', event.issuer, event.id), mode: 'max', value: String(event.before), ttl, entry, index }
      case 'global': return { key: this.keys.mark('global', event.issuer, ''), mode: 'max', value: String(event.before), ttl, entry, index }
    }
  }

  async #mark (event: RevocationEvent, ttlS: number): Promise<boolean> {
    const write = this.#writeOf(event, ttlS)
    if (this.#clusterWriter !== null) {
      const results = (await this.#clusterWriter.write(write, event)).map(confirmed)
      return results[results.length - 1].reply === 1
    }
    const { key, mode, value, ttl, entry, index } = write
    return confirmed(await this.#exec(this.#write.pipeline().tgMarkLogged(key, this.keys.log, index.key, mode, value, ttl, ...entry, index.record, index.expireAt))).reply === 1
  }

  async #exec (pipeline: ReturnType<RedisClient['pipeline']>): Promise<Executed> {
    const replicas = this.#config.minReplicasAck
    // WAIT rides in the same pipeline so that, in a cluster, it reaches the node that took the write.
    if (replicas > 0) pipeline.wait(replicas, WAIT_TIMEOUT_MS)
    const results = await pipeline.exec()
    if (results === null) throw new GatewayError(Failures.STORE_UNAVAILABLE, { cause: new Error('revocation write was not executed') })
    for (const [err] of results) if (err !== null) throw err
    return { reply: results[0][1], replicas: replicas > 0 ? Number(results[1][1]) : 0, required: replicas }
  }

  /** Pending and dropped Cluster roll-forwards (see RollForward), for the metrics. */
  get rollForwardStats (): RollForwardStats {
    return this.#clusterWriter?.stats ?? { pending: 0, dropped: 0 }
  }

  follow (listener: LogListener): void {
    const client = createRedisClient(this.#config, { name: 'follower', maxRetryDelayMs: 250, connectTimeoutMs: 1000 })
    logConnectionChanges(client, 'revocation log follower', this.#log)
    const follower = new LogFollower(client, this.keys, listener, this.#log, LOG_BLOCK_MS, this.#retentionS, this.#reloadOverlapMs)
    this.#follower = { client, follower }
    // A failed first connect is an 'error' event too (logged above); ioredis keeps retrying.
    connectClient(client).catch(() => {})
    follower.start()
    this.#clusterWriter?.recover((event) => {
      const ttlS = event.expiresAt - nowSeconds(this.#now)
      return ttlS > 0 ? this.#writeOf(event, ttlS) : null
    })
  }

  async ping (): Promise<void> {
    await this.#write.ping()
  }

  /** Warns when Redis may evict keys: an evicted mark silently un-revokes a token. */
  async checkEvictionPolicy (): Promise<void> {
    try {
      const reply = await this.#write.config('GET', 'maxmemory-policy') as string[]
      const policy = reply[1]
      if (policy !== 'noeviction') {
        this.#log.warn({ policy }, 'Redis maxmemory-policy is not noeviction: evicted revocation marks would bring revoked tokens back to life; set maxmemory-policy noeviction')
      }
    } catch {
      this.#log.warn({}, 'could not read Redis maxmemory-policy (CONFIG disabled?); make sure it is noeviction')
    }
  }

  async stats (): Promise<StoreStats> {
    const patterns = this.keys.patterns()
    const nodes = this.#write instanceof Redis ? [this.#write] : this.#write.nodes('master')
    const marks = perKind()
    let memoryBytes = 0
    for (const node of nodes) {
      for (const kind of Object.keys(patterns) as Array<keyof typeof patterns>) {
        marks[kind] += await countKeys(node, patterns[kind])
      }
      const info = await node.info('memory')
      memoryBytes += Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0)
    }
    return { marks, memoryBytes }
  }

  async close (): Promise<void> {
    // The follower's connection is blocked in XREAD: a QUIT would wait for it.
    this.#follower?.follower.close()
    this.#follower?.client.disconnect()
    await this.#clusterWriter?.close()
    await Promise.allSettled([this.#lookup, this.#write]
      .filter((client): client is RedisClient => client !== null)
      .map(async (client) => await client.quit().catch(() => client.disconnect())))
  }
}

/** REDIS_MIN_REPLICAS_ACK: executed is not stored until enough replicas hold it (the caller answers 503). */
function confirmed (result: Executed): Executed {
  if (result.replicas < result.required) {
    throw new GatewayError(Failures.STORE_UNAVAILABLE, { cause: new Error(`revocation reached ${result.replicas} of ${result.required} required replicas`) })
  }
  return result
}

async function countKeys (node: Redis, match: string): Promise<number> {
  let count = 0
  let cursor = '0'
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000)
    cursor = next
    count += keys.length
  } while (cursor !== '0')
  return count
}
