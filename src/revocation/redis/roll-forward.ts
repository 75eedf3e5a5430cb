import { setTimeout as sleep } from 'node:timers/promises'

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void, error?: (obj: object, msg: string) => void }

/** One write of a Cluster revocation (log entry, index record or mark): resolves once Redis executed it. */
export type Step<T> = () => Promise<T>

export interface RollForwardStats {
  /** Writes answered 503 whose remaining steps are still being retried. */
  readonly pending: number
  /** Writes whose remaining steps were abandoned (queue full, or the store closed first). */
  readonly dropped: number
}

export interface RollForwardOptions {
  /** Writes that may roll forward in the background at once; past it a write is dropped (and counted). */
  readonly maxPending?: number
  readonly maxBackoffMs?: number
  /** How long close() lets pending writes finish. */
  readonly closeGraceMs?: number
}

class Abandoned extends Error {}

interface Write<T = unknown> {
  readonly steps: ReadonlyArray<Step<T>>
  readonly expiresAt: number
  readonly describe: object
  abandoned: boolean
  /** The first result of each step that executed. */
  readonly results: T[]
}

/**
 * Rolls a Cluster revocation forward. Its three writes live in three slots,
 * so no script stores them together, and the log entry goes first: from the
 * moment it may exist, running replicas enforce it. Deleting it would not undo
 * that, so the remaining steps (which merge: a repeat is harmless) are retried
 * until Redis has executed every one: within the write's budget before
 * answering, then in the background, so that a reloading replica and a Redis
 * lookup converge on what the followers already enforce.
 */
export class RollForward {
  readonly #log: Logger
  readonly #maxPending: number
  readonly #maxBackoffMs: number
  readonly #closeGraceMs: number
  readonly #background = new Set<Write>()
  readonly #settled = new Map<Write, Promise<unknown>>()
  #dropped = 0
  #closed = false

  constructor (log: Logger, options: RollForwardOptions = {}) {
    this.#log = log
    this.#maxPending = options.maxPending ?? 10_000
    this.#maxBackoffMs = options.maxBackoffMs ?? 5000
    this.#closeGraceMs = options.closeGraceMs ?? 2000
  }

  get stats (): RollForwardStats {
    return { pending: this.#background.size, dropped: this.#dropped }
  }

  /**
   * Runs `steps` in order, each retried until Redis executed it, and resolves
   * with their results once all did within `budgetMs`. Otherwise rejects with
   * `onTimeout()` and keeps retrying in the background (until the mark would
   * have expired: `expiresAt`, epoch seconds).
   */
  async complete<T> (steps: ReadonlyArray<Step<T>>, budgetMs: number, expiresAt: number, describe: object, onTimeout: () => Error): Promise<T[]> {
    if (this.#closed) throw onTimeout()
    const write: Write<T> = { steps, expiresAt, describe, abandoned: false, results: [] }
    const done = this.#drive(write)
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), budgetMs) })
    const outcome = await Promise.race([done, expired])
    clearTimeout(timer)
    if (outcome !== null) return outcome
    this.#handOver(write, done)
    throw onTimeout()
  }

  #handOver<T> (write: Write<T>, done: Promise<T[]>): void {
    if (this.#background.size >= this.#maxPending) {
      this.#drop(write, 'roll-forward queue full')
      return
    }
    this.#background.add(write)
    const settled = done.then(() => {
      this.#log.info({ ...write.describe }, 'revocation rolled forward after its write answered 503: every replica and lookup now agree')
    }, (err: unknown) => {
      if (!(err instanceof Abandoned)) this.#drop(write, (err as Error).message)
    }).finally(() => {
      this.#background.delete(write)
      this.#settled.delete(write)
    })
    this.#settled.set(write, settled)
  }

  #drop (write: Write, reason: string): void {
    write.abandoned = true
    this.#dropped++
    const log = this.#log.error ?? this.#log.warn
    log.call(this.#log, { ...write.describe, reason, remainingSteps: write.steps.length - write.results.length },
      'revocation roll-forward DROPPED: running replicas enforce it; a Redis lookup may not until a replica finishes it from the log (pending over 60 s) or it is repeated')
  }

  async #drive<T> (write: Write<T>): Promise<T[]> {
    for (const step of write.steps) {
      for (let failures = 0; ; failures++) {
        if (write.abandoned) throw new Abandoned()
        if (write.expiresAt * 1000 <= Date.now()) return write.results
        try {
          write.results.push(await step())
          break
        } catch (err) {
          if (failures === 0) this.#log.warn({ ...write.describe, err: (err as Error).message }, 'revocation write step failed; retrying (its log entry may already be enforced)')
          const backoff = Math.min(25 * 2 ** failures, this.#maxBackoffMs)
          // Unref'd: a write still retrying when the process exits is what the drop log is for.
          await sleep(backoff / 2 + Math.random() * backoff / 2, undefined, { ref: false })
        }
      }
    }
    return write.results
  }

  /** Lets pending writes finish for a moment, then abandons (and counts) the rest. */
  async close (): Promise<void> {
    this.#closed = true
    if (this.#settled.size === 0) return
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise((resolve) => { timer = setTimeout(resolve, this.#closeGraceMs) })
    await Promise.race([Promise.allSettled([...this.#settled.values()]), grace])
    clearTimeout(timer)
    for (const write of this.#background) this.#drop(write, 'store closed')
  }
}
