/** Ids per XACK; a piggybacked batch rides in the log script's ARGV. */
export const MAX_ACK_BATCH = 1000
/** Past this many unsent acknowledgements the oldest are forgotten: recovery rolls those forward once more (harmless). */
const MAX_QUEUED = 100_000

/**
 * The log entries of Cluster writes that completed, to be acknowledged in the
 * log's consumer group (see LOG_SCRIPT). They ride with this replica's next log
 * write at no cost; when none comes within `delayMs`, one XACK sends them.
 * A lost acknowledgement only makes some replica roll that write forward again.
 */
export class LogAcks {
  readonly #send: (ids: string[]) => Promise<unknown>
  readonly #delayMs: number
  #ids: string[] = []
  #timer: NodeJS.Timeout | null = null

  constructor (send: (ids: string[]) => Promise<unknown>, delayMs: number) {
    this.#send = send
    this.#delayMs = delayMs
  }

  add (id: string): void {
    this.#ids.push(id)
    if (this.#ids.length > MAX_QUEUED) this.#ids.splice(0, this.#ids.length - MAX_QUEUED)
    this.#schedule()
  }

  /** Up to MAX_ACK_BATCH ids for the next log write; give them back with restore() if it fails. */
  take (): string[] {
    return this.#ids.splice(0, MAX_ACK_BATCH)
  }

  restore (ids: readonly string[]): void {
    for (const id of ids) this.add(id)
  }

  #schedule (): void {
    if (this.#timer !== null || this.#ids.length === 0) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      const ids = this.take()
      this.#send(ids).catch(() => this.restore(ids))
    }, this.#delayMs)
    this.#timer.unref()
  }

  close (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}
