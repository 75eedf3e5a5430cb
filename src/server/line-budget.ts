interface Window { start: number, lines: number, suppressed: number }

/**
 * At most `lines` log lines per key (a bounded set: the registry's reasons)
 * per window of `windowMs`: what is held back is counted and reported on the
 * next line, so a flood shows as one line a window with its size, never as a
 * disk-filling stream.
 */
export class LineBudget {
  readonly #lines: number
  readonly #windowMs: number
  readonly #now: () => number
  readonly #windows = new Map<string, Window>()

  constructor ({ lines, windowMs, now = Date.now }: { readonly lines: number, readonly windowMs: number, readonly now?: () => number }) {
    this.#lines = lines
    this.#windowMs = windowMs
    this.#now = now
  }

  /** -1 when no line may be written for `key` now; else how many were held back since the last one. */
  take (key: string): number {
    const now = this.#now()
    let window = this.#windows.get(key)
    if (window === undefined) {
      window = { start: now, lines: 0, suppressed: 0 }
      this.#windows.set(key, window)
    } else if (now - window.start >= this.#windowMs) {
      // A window opens with its first line: a burst never straddles two windows' budgets.
      window.start = now
      window.lines = 0
    }
    if (window.lines >= this.#lines) {
      window.suppressed++
      return -1
    }
    window.lines++
    const suppressed = window.suppressed
    window.suppressed = 0
    return suppressed
  }
}
