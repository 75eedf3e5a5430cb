import { Redis, type Result } from 'ioredis'
import type { RedisConfig } from '../config/types.js'
import { MARK_SCRIPT } from './mark-script.js'
import { MgetBatcher } from './mget-batch.js'
import { connectClient, createRedisClient, type RedisClient } from './redis-client.js'
import { decide, RedisKeys } from './redis-keys.js'
import type { LookupQuery, MarkKind, RevocationEvent, RevocationStore, StoreStats, SubscriptionListener } from './store.js'
import { nowSeconds } from './store.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tgMark: (key: string, mode: 'nx' | 'set' | 'max', value: string, ttl: number, channel: string, event: string) => Result<number, Context>
  }
}

const WRITE_TIMEOUT_MS = 2000
const WAIT_TIMEOUT_MS = 1000

export class StoreWriteError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'StoreWriteError'
  }
}

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

/**
 * Redis-backed revocation state shared by every replica. Three connections:
 * auto-pipelined lookups (concurrent requests share round trips), writes, and
 * the pub/sub subscriber that keeps every replica's local cache coherent.
 */
export class RedisStore implements RevocationStore {
  readonly name = 'redis'
  readonly keys: RedisKeys
  readonly #lookup: RedisClient
  readonly #write: RedisClient
  readonly #config: RedisConfig
  readonly #log: Logger
  readonly #batcher: MgetBatcher | null
  #subscriber: RedisClient | null = null

  constructor (config: RedisConfig, log: Logger) {
    this.#config = config
    this.#log = log
    this.keys = new RedisKeys(config.keyPrefix)
    const cluster = config.topology.mode === 'cluster'
    // Concurrent lookups share round trips: one batched MGET (standalone, Sentinel) or auto-pipelined GETs (cluster).
    this.#lookup = createRedisClient(config, { name: 'lookup', autoPipelining: cluster })
    this.#batcher = this.#lookup instanceof Redis ? new MgetBatcher(this.#lookup, this.keys) : null
    this.#write = createRedisClient(config, { name: 'write', commandTimeoutMs: WRITE_TIMEOUT_MS })
    this.#write.defineCommand('tgMark', { numberOfKeys: 1, lua: MARK_SCRIPT })
    for (const client of [this.#lookup, this.#write]) {
      // ioredis reconnects by itself; without a listener an error event would crash the process.
      client.on('error', (err: Error) => this.#log.warn({ err: err.message }, 'redis connection error'))
    }
  }

  /** Connects both clients; resolves when ready or rejects after timeoutMs. */
  async connect (timeoutMs: number): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs)
    await Promise.all([this.#lookup, this.#write].map(async (client) => await Promise.race([
      connectClient(client),
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('redis connect timed out')), { once: true }))
    ])))
  }

  get lookupClient (): RedisClient { return this.#lookup }

  async lookup (query: LookupQuery): Promise<MarkKind | null> {
    if (this.#batcher !== null) return await this.#batcher.lookup(query)
    // Keys live in different slots; auto-pipelining sends one batch per node, concurrently.
    const values = await Promise.all(this.keys.lookupKeys(query).map(async (key) => await this.#lookup.get(key)))
    return decide(values, query.iat)
  }

  async revokeToken (jti: string, ttlS: number): Promise<boolean> {
    const event: RevocationEvent = { kind: 'jti', id: jti, expiresAt: nowSeconds() + ttlS }
    return await this.#mark(this.keys.jti(jti), 'nx', '1', ttlS, event)
  }

  async revokeSession (sid: string, ttlS: number): Promise<void> {
    await this.#mark(this.keys.session(sid), 'set', '1', ttlS, { kind: 'session', id: sid, expiresAt: nowSeconds() + ttlS })
  }

  async revokeUser (sub: string, before: number, ttlS: number): Promise<void> {
    await this.#mark(this.keys.user(sub), 'max', String(before), ttlS, { kind: 'user', id: sub, before, expiresAt: nowSeconds() + ttlS })
  }

  async revokeAll (before: number, ttlS: number): Promise<void> {
    await this.#mark(this.keys.global, 'max', String(before), ttlS, { kind: 'global', before, expiresAt: nowSeconds() + ttlS })
  }

  async #mark (key: string, mode: 'nx' | 'set' | 'max', value: string, ttlS: number, event: RevocationEvent): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(ttlS))
    const pipeline = this.#write.pipeline().tgMark(key, mode, value, ttl, this.keys.channel, JSON.stringify(event))
    const replicas = this.#config.minReplicasAck
    // WAIT rides in the same pipeline so that, in a cluster, it reaches the node that took the write.
    if (replicas > 0) pipeline.wait(replicas, WAIT_TIMEOUT_MS)
    const results = await pipeline.exec()
    if (results === null) throw new StoreWriteError('revocation write was not executed')
    for (const [err] of results) if (err !== null) throw err
    if (replicas > 0 && Number(results[1][1]) < replicas) {
      throw new StoreWriteError(`revocation reached ${String(results[1][1])} of ${replicas} required replicas`)
    }
    return results[0][1] === 1
  }

  subscribe (listener: SubscriptionListener): void {
    const subscriber = createRedisClient(this.#config, { name: 'subscriber' })
    this.#subscriber = subscriber
    const channel = this.keys.channel
    subscriber.on('error', (err: Error) => this.#log.warn({ err: err.message }, 'redis subscriber error'))
    subscriber.on('close', () => listener.onHealth(false))
    subscriber.on('ready', () => {
      subscriber.subscribe(channel).then(
        () => listener.onHealth(true),
        (err: Error) => this.#log.warn({ err: err.message }, 'redis subscribe failed')
      )
    })
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return
      const event = parseEvent(message)
      if (event !== null) listener.onEvent(event)
    })
    listener.onHealth(false)
    subscriber.connect().catch((err: Error) => this.#log.warn({ err: err.message }, 'redis subscriber connect failed'))
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
    const marks = { jti: 0, session: 0, user: 0, global: 0 }
    let memoryBytes = 0
    for (const node of nodes) {
      for (const kind of ['jti', 'session', 'user'] as const) {
        marks[kind] += await countKeys(node, patterns[kind])
      }
      const info = await node.info('memory')
      memoryBytes += Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0)
    }
    // One key in one slot: asked through the client, which knows the node that holds it.
    marks.global = await this.#write.exists(this.keys.global)
    return { marks, memoryBytes }
  }

  async close (): Promise<void> {
    await Promise.allSettled([this.#lookup, this.#write, this.#subscriber]
      .filter((client): client is RedisClient => client !== null)
      .map(async (client) => await client.quit().catch(() => client.disconnect())))
  }
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

function parseEvent (message: string): RevocationEvent | null {
  try {
    const event = JSON.parse(message) as RevocationEvent
    return typeof event?.kind === 'string' ? event : null
  } catch {
    return null
  }
}
