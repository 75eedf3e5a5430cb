import { createHash, randomUUID } from 'node:crypto'
import { connectClient, createRedisClient, type RedisClient, type RedisConfig } from '../redis/redis-client.js'
import { logConnectionChanges, type ConnectionLogger } from '../redis/connection-log.js'

/** One replica at a time: who polls a transmitter, who manages its stream. */
export interface Lease {
  /** True while this replica holds the lease (taken or renewed now); false when another does or Redis cannot tell. */
  hold: () => Promise<boolean>
  release: () => Promise<void>
  /** `release: false` leaves a held lease to expire by itself (the stream lease). */
  close: (options?: { release?: boolean }) => Promise<void>
}

/** One process: it is the only poller. */
export class LocalLease implements Lease {
  async hold (): Promise<boolean> { return true }
  async release (): Promise<void> {}
  async close (): Promise<void> {}
}

// Renewed only by its holder: a lease taken over by another replica is never extended by the old one.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/** `name`: the transmitter's issuer (its poller), or "stream" and the issuer (its stream manager). */
export function leaseKey (prefix: string, name: string): string {
  return `${prefix}ssf:lease:${createHash('sha256').update(name).digest('base64url')}`
}

/**
 * A lease in Redis (one key, so Cluster places it on one node): `SET NX PX` to take it, renewed
 * by its holder while it polls. A holder that dies stops renewing, and another replica takes
 * the lease once it expires (ttlMs). Redis unreachable: nobody polls (polled SETs wait at the
 * transmitter; no replica acknowledges what it could not store).
 */
export class RedisLease implements Lease {
  readonly #client: RedisClient
  readonly #key: string
  readonly #owner = randomUUID()
  readonly #ttlMs: number
  // The first connection attempt, settled: a hold right after start waits for it instead of failing.
  readonly #connected: Promise<void>

  /** `what` names the lease in the log, which says once when its connection is lost and once when it is back. */
  constructor (config: RedisConfig, name: string, ttlMs: number, log: ConnectionLogger, what: string) {
    this.#key = leaseKey(config.keyPrefix, name)
    this.#ttlMs = ttlMs
    this.#client = createRedisClient(config, { name: 'ssf-lease', commandTimeoutMs: 1000 })
    logConnectionChanges(this.#client, what, log)
    this.#connected = connectClient(this.#client).catch(() => {})
  }

  async hold (): Promise<boolean> {
    await this.#connected
    try {
      return Number(await this.#client.eval(RENEW, 1, this.#key, this.#owner, String(this.#ttlMs))) === 1
    } catch {
      return false
    }
  }

  async release (): Promise<void> {
    await this.#client.eval(RELEASE, 1, this.#key, this.#owner).catch(() => {})
  }

  async close ({ release = true }: { release?: boolean } = {}): Promise<void> {
    if (release) await this.release()
    this.#client.disconnect()
  }
}
