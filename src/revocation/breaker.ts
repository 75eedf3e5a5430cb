export type BreakerState = 'closed' | 'open' | 'half_open'

export interface BreakerOptions {
  /** Consecutive failures (errors or timeouts) that open the breaker. */
  readonly failureThreshold?: number
  /** How long the breaker stays open before one probe may go through. */
  readonly coolDownMs?: number
  /** Called once the cool-down is over, so the owner can probe without waiting for traffic. */
  readonly onHalfOpen?: () => void
  readonly now?: () => number
}

export const BREAKER_DEFAULTS = { failureThreshold: 5, coolDownMs: 1000 } as const

/**
 * A circuit breaker for store lookups. Closed: every call goes through.
 * Open: none does, until the cool-down is over. Half-open: one probe at a
 * time; its success closes the breaker, its failure opens it again.
 */
export class CircuitBreaker {
  readonly #threshold: number
  readonly #coolDownMs: number
  readonly #onHalfOpen: (() => void) | null
  readonly #now: () => number
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #probing = false
  #timer: NodeJS.Timeout | null = null

  constructor (options: BreakerOptions = {}) {
    const threshold = options.failureThreshold ?? BREAKER_DEFAULTS.failureThreshold
    const coolDownMs = options.coolDownMs ?? BREAKER_DEFAULTS.coolDownMs
    if (!Number.isInteger(threshold) || threshold < 1) throw new RangeError('failureThreshold must be an integer >= 1')
    if (!Number.isFinite(coolDownMs) || coolDownMs < 0) throw new RangeError('coolDownMs must be a number >= 0')
    this.#threshold = threshold
    this.#coolDownMs = coolDownMs
    this.#onHalfOpen = options.onHalfOpen ?? null
    this.#now = options.now ?? (() => performance.now())
  }

  get state (): BreakerState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#coolDownMs) this.#state = 'half_open'
    return this.#state
  }

  /** Whether a call may go to the store now; in half-open only the single probe may. */
  tryAcquire (): boolean {
    switch (this.state) {
      case 'closed':
        return true
      case 'open':
        return false
      case 'half_open':
        if (this.#probing) return false
        this.#probing = true
        return true
    }
  }

  success (): void {
    if (this.state === 'open') return
    this.#failures = 0
    this.#probing = false
    this.#state = 'closed'
  }

  failure (): void {
    const state = this.state
    if (state === 'half_open') {
      this.#open()
      return
    }
    // Calls that were already in flight when the breaker opened do not extend the cool-down.
    if (state === 'open') return
    if (++this.#failures >= this.#threshold) this.#open()
  }

  close (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  #open (): void {
    this.#state = 'open'
    this.#probing = false
    this.#failures = 0
    this.#openedAt = this.#now()
    if (this.#onHalfOpen === null) return
    if (this.#timer !== null) clearTimeout(this.#timer)
    const onHalfOpen = this.#onHalfOpen
    this.#timer = setTimeout(() => {
      this.#timer = null
      // Timers may fire a little before the clock says the cool-down is over.
      if (this.#state === 'open') this.#state = 'half_open'
      if (this.#state === 'half_open') onHalfOpen()
    }, this.#coolDownMs).unref()
  }
}
