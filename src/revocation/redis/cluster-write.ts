import { Failures, GatewayError } from '../../errors.js'
import type { RedisClient } from '../../redis/redis-client.js'
import { LogAcks } from './log-acks.js'
import { LogRecovery, ROLL_FORWARD_GROUP, type LogRecoveryOptions } from './log-recovery.js'
import type { RedisKeys } from './redis-keys.js'
import { RollForward, type RollForwardStats, type Step } from './roll-forward.js'
import type { RevocationEvent } from '../store.js'

export type MarkMode = 'nx' | 'set' | 'max'

/** One write Redis executed: the script's reply, and how many replicas confirmed it (WAIT). */
export interface Executed { readonly reply: unknown, readonly replicas: number, readonly required: number }

/** What one revocation writes: its mark (key, merge mode, value, TTL), its log entry and its index record. */
export interface Write {
  readonly key: string
  readonly mode: MarkMode
  readonly value: string
  readonly ttl: number
  readonly entry: string[]
  readonly index: { readonly key: string, readonly record: Buffer, readonly expireAt: string }
}

export type Exec = (pipeline: ReturnType<RedisClient['pipeline']>) => Promise<Executed>

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void, error?: (obj: object, msg: string) => void }

export interface ClusterWriteOptions {
  /** From the start of a write to the answer. */
  readonly budgetMs: number
  readonly maxPending?: number
  readonly recovery: LogRecoveryOptions
  /** Completed writes are acknowledged with the next log write, or alone after this. */
  readonly ackDelayMs: number
}

/**
 * A revocation in a Cluster: the log, the index bucket and the mark live in
 * different slots, so no script writes them all. The log goes first (once it
 * holds the entry every replica enforces it), then the index (a full load
 * reads it), then the mark (a lookup reads it), and the write only rolls
 * forward (RollForward). The entry stays pending in the log's group until the
 * mark is stored (LOG_SCRIPT, LogAcks); entries whose writer died are finished
 * by any replica (LogRecovery).
 */
export class ClusterWriter {
  readonly #client: RedisClient
  readonly #keys: RedisKeys
  readonly #exec: Exec
  readonly #log: Logger
  readonly #options: ClusterWriteOptions
  readonly #rollForward: RollForward
  readonly #acks: LogAcks
  #recovery: LogRecovery | null = null

  constructor (client: RedisClient, keys: RedisKeys, exec: Exec, log: Logger, options: ClusterWriteOptions) {
    this.#client = client
    this.#keys = keys
    this.#exec = exec
    this.#log = log
    this.#options = options
    this.#rollForward = new RollForward(log, { maxPending: options.maxPending })
    this.#acks = new LogAcks(async (ids) => await this.#ack(ids), options.ackDelayMs)
  }

  /** Resolves with the three steps' results once all are stored; rejects (503) otherwise, rolling forward if the entry may exist. */
  async write ({ key, mode, value, ttl, entry, index }: Write, event: RevocationEvent): Promise<Executed[]> {
    const exec = this.#exec
    const pipeline = (): ReturnType<RedisClient['pipeline']> => this.#client.pipeline()
    let entryId: string | null = null
    const steps: Array<Step<Executed>> = [
      async () => {
        const acks = this.#acks.take()
        try {
          const done = await exec(pipeline().tgLog(this.#keys.log, ...entry, ROLL_FORWARD_GROUP, ...acks))
          entryId = String(done.reply)
          return done
        } catch (err) {
          this.#acks.restore(acks)
          throw err
        }
      },
      async () => await exec(pipeline().tgIndex(index.key, index.record, index.expireAt)),
      async () => {
        const done = await exec(pipeline().tgMark(key, mode, value, ttl, ...entry))
        if (entryId !== null) this.#acks.add(entryId)
        return done
      }
    ]
    const started = performance.now()
    const results: Executed[] = []
    try {
      results.push(await steps[0]())
    } catch (err) {
      // Redis refused the script before it wrote: nothing is stored anywhere, every replica agrees.
      if ((err as Error).name === 'ReplyError') throw err
      // Timed out or the connection dropped: the entry may exist, so the whole write rolls forward.
    }
    const budgetMs = Math.max(0, this.#options.budgetMs - (performance.now() - started))
    results.push(...await this.#rollForward.complete(steps.slice(results.length), budgetMs, event.expiresAt, { kind: event.kind, expiresAt: event.expiresAt },
      () => new GatewayError(Failures.STORE_UNAVAILABLE, { cause: new Error('revocation not completely stored within the write budget; its steps are retried in the background') })))
    // Fewer results: the mark expired while its steps were failing; nothing is left to store, but it was not stored.
    if (results.length < steps.length) throw new GatewayError(Failures.STORE_UNAVAILABLE, { cause: new Error('revocation expired before it was completely stored') })
    return results
  }

  /** Every replica that follows the log finishes the entries whose writer stopped between the steps. */
  recover (writeOf: (event: RevocationEvent) => Write | null): void {
    this.#recovery = new LogRecovery(this.#client, this.#keys.log, async (event) => {
      const write = writeOf(event)
      if (write === null) return
      await this.#exec(this.#client.pipeline().tgIndex(write.index.key, write.index.record, write.index.expireAt))
      await this.#exec(this.#client.pipeline().tgMark(write.key, write.mode, write.value, write.ttl, ...write.entry))
    }, async (ids) => await this.#ack(ids), this.#log, this.#options.recovery)
    this.#recovery.start()
  }

  /** Pending and dropped roll-forwards of this process, for the metrics. */
  get stats (): RollForwardStats {
    return this.#rollForward.stats
  }

  async #ack (ids: string[]): Promise<unknown> {
    return await this.#client.xack(this.#keys.log, ROLL_FORWARD_GROUP, ...ids)
  }

  async close (): Promise<void> {
    this.#recovery?.close()
    await this.#rollForward.close()
    this.#acks.close()
    const ids = this.#acks.take()
    if (ids.length > 0) await this.#ack(ids).catch(() => {})
  }
}
