/** One queued write: what to retry, since when, and what to do when it finally goes (stored or dropped). */
export interface QueuedWrite<T> {
  readonly item: T
  readonly queuedAtMs: number
}

export type DropReason = 'queue_full' | 'too_old'

export interface RetryQueueOptions<T> {
  readonly maxSize: number
  readonly maxAgeMs: number
  /** One attempt; resolves when stored, rejects to be retried. */
  readonly attempt: (item: T) => Promise<void>
  readonly onStored: (entry: QueuedWrite<T>) => void
  readonly onFailedAttempt: (entry: QueuedWrite<T>, err: unknown) => void
  readonly onDropped: (entry: QueuedWrite<T>, reason: DropReason) => void
  readonly now?: () => number
  /** First retry after this, doubling to maxDelayMs while attempts fail. */
  readonly minDelayMs?: number
  readonly maxDelayMs?: number
}

/**
 * Writes that must not be lost, retried in arrival order with backoff until
 * one attempt succeeds; a success stores the rest at once (the store is back).
 * Bounded twice: past `maxSize` a new write is dropped at once, and a write
 * older than `maxAgeMs` is dropped instead of retried. Every drop is reported
 * (the caller raises a CRITICAL alert): nothing leaves the queue unseen.
 */
export class RetryQueue<T> {
  readonly #options: RetryQueueOptions<T>
  readonly #now: () => number
  readonly #minDelayMs: number
  readonly #maxDelayMs: number
  #entries: Array<QueuedWrite<T>> = []
  #delayMs: number
  #timer: NodeJS.Timeout | null = null
  #running: Promise<void> | null = null
  #closed = false

  constructor (options: RetryQueueOptions<T>) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#minDelayMs = options.minDelayMs ?? 100
    this.#maxDelayMs = options.maxDelayMs ?? 5000
    this.#delayMs = this.#minDelayMs
  }

  get depth (): number {
    return this.#entries.length
  }

  /** False when dropped at once (queue full, or closed). */
  push (item: T): boolean {
    const entry = { item, queuedAtMs: this.#now() }
    if (this.#closed || this.#entries.length >= this.#options.maxSize) {
      this.#options.onDropped(entry, 'queue_full')
      return false
    }
    this.#entries.push(entry)
    this.#schedule()
    return true
  }

  /** Tries every queued write now (tests, and a store that says it is back). */
  async drain (): Promise<void> {
    while (this.#running !== null) await this.#running
    this.#running = this.#run().finally(() => { this.#running = null })
    await this.#running
  }

  /** Stops retrying; whatever is still queued is reported dropped. */
  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    while (this.#running !== null) await this.#running
    const left = this.#entries
    this.#entries = []
    for (const entry of left) this.#options.onDropped(entry, 'queue_full')
  }

  #schedule (): void {
    if (this.#timer !== null || this.#closed || this.#entries.length === 0) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.drain().catch(() => {})
    }, this.#delayMs)
    this.#timer.unref()
  }

  async #run (): Promise<void> {
    while (this.#entries.length > 0 && !this.#closed) {
      const entry = this.#entries[0]
      if (this.#now() - entry.queuedAtMs > this.#options.maxAgeMs) {
        this.#entries.shift()
        this.#options.onDropped(entry, 'too_old')
        continue
      }
      try {
        await this.#options.attempt(entry.item)
      } catch (err) {
        this.#options.onFailedAttempt(entry, err)
        this.#delayMs = Math.min(this.#delayMs * 2, this.#maxDelayMs)
        this.#schedule()
        return
      }
      this.#entries.shift()
      this.#delayMs = this.#minDelayMs
      this.#options.onStored(entry)
    }
  }
}
