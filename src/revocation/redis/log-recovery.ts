import type { RedisClient } from '../../redis/redis-client.js'
import { decodeEntry } from './log-entry.js'
import type { RevocationEvent } from '../store.js'

/** The log's consumer group in which a Cluster write's entry stays pending until its mark is stored. */
export const ROLL_FORWARD_GROUP = 'tokengate-rollforward'
const PAGE = 100

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

export interface LogRecoveryOptions {
  /** An entry pending this long has no writer left to finish it (a write's budget and its background retries are far shorter in practice). */
  readonly minIdleMs: number
  readonly everyMs: number
}

/**
 * Finishes the Cluster writes whose writer stopped between the steps (killed,
 * crashed): their log entries, which every running replica already enforces,
 * stay pending in the log's consumer group. Each replica claims the entries
 * pending longer than `minIdleMs` (XAUTOCLAIM: one command, nothing to scan
 * when none is pending), writes their index record and mark (both merge, so
 * a repeat is harmless) and acknowledges them: a replica that loads later and
 * a Redis lookup then agree with the followers.
 */
export class LogRecovery {
  readonly #client: RedisClient
  readonly #logKey: string
  readonly #apply: (event: RevocationEvent) => Promise<void>
  readonly #ack: (ids: string[]) => Promise<unknown>
  readonly #log: Logger
  readonly #options: LogRecoveryOptions
  #timer: NodeJS.Timeout | null = null
  #running: Promise<number> | null = null

  constructor (client: RedisClient, logKey: string, apply: (event: RevocationEvent) => Promise<void>, ack: (ids: string[]) => Promise<unknown>, log: Logger, options: LogRecoveryOptions) {
    this.#client = client
    this.#logKey = logKey
    this.#apply = apply
    this.#ack = ack
    this.#log = log
    this.#options = options
  }

  start (): void {
    this.#timer = setInterval(() => { this.run().catch(() => {}) }, this.#options.everyMs)
    this.#timer.unref()
    this.run().catch(() => {})
  }

  /** One pass; the count of entries rolled forward. */
  async run (): Promise<number> {
    this.#running ??= this.#pass().finally(() => { this.#running = null })
    return await this.#running
  }

  async #pass (): Promise<number> {
    let recovered = 0
    let cursor = '0-0'
    try {
      do {
        const [next, entries] = await this.#client.xautoclaim(this.#logKey, ROLL_FORWARD_GROUP, 'recovery', this.#options.minIdleMs, cursor, 'COUNT', PAGE) as [string, Array<[string, string[] | null]>]
        const ids: string[] = []
        for (const [id, fields] of entries) {
          // A trimmed entry (null in Redis 6.2) belongs to an expired mark.
          const event = fields === null ? null : decodeEntry(fields)
          if (event !== null) await this.#apply(event)
          ids.push(id)
        }
        if (ids.length > 0) await this.#ack(ids)
        recovered += ids.length
        cursor = next
      } while (cursor !== '0-0')
    } catch (err) {
      // No group yet (no Cluster write since the log was created): nothing can be pending.
      if (!/NOGROUP|no such key/i.test((err as Error).message)) this.#log.warn({ err: (err as Error).message, recovered }, 'rolling forward half-written revocations failed; retried later')
      return recovered
    }
    if (recovered > 0) {
      this.#log.warn({ recovered }, 'rolled forward revocations whose writer stopped between the log entry and the mark: every replica and lookup now agree')
    }
    return recovered
  }

  close (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }
}
