import { createHash } from 'node:crypto'
import { logConnectionChanges, type ConnectionLogger } from '../redis/connection-log.js'
import { connectClient, createRedisClient, type RedisClient, type RedisConfig } from '../redis/redis-client.js'

/**
 * Remembers identifiers that may be used once: a logout token's or a SET's
 * `jti` (per issuer or transmitter), a DPoP proof's `jti`. `claim` resolves
 * true only the first time (scope, id) is seen before `untilS` (epoch
 * seconds), false for a replay; it rejects when it cannot know (Redis
 * unreachable, the memory table full of live ids): the caller answers "try
 * again", never "accepted". With an `owner` (a request id), the same owner
 * claiming the same id again is answered true: one request asked about twice
 * (a proxy re-asking for a refusal's body) is not a replay; another is.
 */
export interface ReplayGuard {
  claim: (scope: string, id: string, untilS: number, owner?: string) => Promise<boolean>
  /** It could answer once (its Redis connection was ready once): readiness waits for it with DPOP=true. */
  readonly connectedOnce: boolean
  close: () => Promise<void>
}

/** A bounded table of live ids was full: nothing could be remembered, so nothing is accepted. */
export class ReplayGuardFull extends Error {
  constructor () {
    super('replay guard full of live ids')
    this.name = 'ReplayGuardFull'
  }
}

const DEFAULT_MAX_IDS = 100_000

/**
 * One process (the memory store): ids in a Map until their `untilS`. When it
 * holds `maxIds` it first drops the expired ones; still full, it refuses
 * (an id forgotten early would be a replay accepted).
 */
export class MemoryReplayGuard implements ReplayGuard {
  readonly #until = new Map<string, { readonly until: number, readonly owner: string | undefined }>()
  readonly #maxIds: number
  readonly #now: () => number

  constructor (options: { readonly maxIds?: number, readonly now?: () => number } = {}) {
    this.#maxIds = options.maxIds ?? DEFAULT_MAX_IDS
    this.#now = options.now ?? Date.now
  }

  async claim (scope: string, id: string, untilS: number, owner?: string): Promise<boolean> {
    const nowS = this.#now() / 1000
    const key = `${scope}\n${id}`
    const held = this.#until.get(key)
    if (held !== undefined && held.until > nowS) return owner !== undefined && held.owner === owner
    if (held === undefined && this.#until.size >= this.#maxIds) {
      this.#sweep(nowS)
      if (this.#until.size >= this.#maxIds) throw new ReplayGuardFull()
    }
    this.#until.set(key, { until: untilS, owner })
    return true
  }

  get size (): number {
    return this.#until.size
  }

  get connectedOnce (): boolean {
    return true
  }

  async close (): Promise<void> {
    this.#until.clear()
  }

  #sweep (nowS: number): void {
    for (const [key, { until }] of this.#until) if (until <= nowS) this.#until.delete(key)
  }
}

/** The key of (scope, id): a digest, so that any string is a safe key and ids of two scopes never meet. */
export function replayKey (prefix: string, scope: string, id: string): string {
  const digest = createHash('sha256').update(JSON.stringify([scope, id])).digest('base64url')
  return `${prefix}replay:${digest}`
}

const COMMAND_TIMEOUT_MS = 1000

/**
 * Every replica through the configured Redis (standalone, Sentinel, Cluster):
 * `SET key owner NX EXAT until`, one command, atomic on the key's node, so two
 * replicas receiving the same id accept it once between them; an owner's
 * second claim reads the value back (it never changes once set).
 */
export class RedisReplayGuard implements ReplayGuard {
  readonly #client: RedisClient
  readonly #prefix: string
  readonly #now: () => number
  #connectedOnce = false

  constructor (config: RedisConfig, options: { readonly log?: ConnectionLogger, readonly now?: () => number } = {}) {
    this.#prefix = config.keyPrefix
    this.#now = options.now ?? Date.now
    this.#client = createRedisClient(config, { name: 'replay', autoPipelining: true, commandTimeoutMs: COMMAND_TIMEOUT_MS })
    // Logged once per outage, not per reconnect attempt (connection-log.ts).
    logConnectionChanges(this.#client, 'replay guard', options.log ?? SILENT)
    this.#client.once('ready', () => { this.#connectedOnce = true })
    connectClient(this.#client).catch(() => {})
  }

  async claim (scope: string, id: string, untilS: number, owner?: string): Promise<boolean> {
    // An id already past its `until` is refused by its caller; still kept a second, never set to expire in the past.
    const until = Math.max(Math.ceil(untilS), Math.floor(this.#now() / 1000) + 1)
    const key = replayKey(this.#prefix, scope, id)
    // '' when no owner is given (identity providers' message ids): no request id is empty (request-ids.ts).
    if (await this.#client.set(key, owner ?? '', 'EXAT', until, 'NX') === 'OK') return true
    return owner !== undefined && await this.#client.get(key) === owner
  }

  get connectedOnce (): boolean {
    return this.#connectedOnce
  }

  async close (): Promise<void> {
    this.#client.disconnect()
  }
}

/** The guard for the store in use: shared through Redis when there is one. */
export function createReplayGuard (redis: RedisConfig | null, log?: ConnectionLogger): ReplayGuard {
  return redis === null ? new MemoryReplayGuard() : new RedisReplayGuard(redis, { log })
}

const SILENT: ConnectionLogger = { warn () {}, info () {} }
