import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js'
import { RevocationState } from './revocation-state.js'
import type { Clock, LookupQuery, MarkKind, ReloadReason, RevocationEvent, RevocationStore } from './store.js'
import { nowSeconds } from './store.js'

export type FailMode = 'open' | 'closed'

/**
 * `ok`: not revoked. `degraded`: the local state may be stale, the store could
 * not answer, and FAIL_MODE=open decided from the last complete state.
 * `unavailable`: the same under FAIL_MODE=closed.
 */
export type CheckOutcome = 'ok' | 'degraded' | 'unavailable' | MarkKind

export interface CheckerOptions {
  readonly timeoutMs: number
  readonly failMode: FailMode
  /** Past this, the local state alone no longer decides "not revoked". */
  readonly maxStalenessMs: number
  /** Consecutive failures that open the breaker (5) and its cool-down (1000 ms). */
  readonly breaker?: Pick<BreakerOptions, 'failureThreshold' | 'coolDownMs'>
  /**
   * Tests inject a clock (milliseconds since the epoch): it ages both the
   * state and its marks. Without one, marks expire by Date.now and staleness
   * is measured by performance.now, so that a wall clock stepped back cannot
   * make a stale state look current.
   */
  readonly now?: Clock
}

export interface CheckObserver {
  onLookup: (durationMs: number, outcome: 'hit' | 'miss' | 'error' | 'timeout') => void
}

const TIMED_OUT = Symbol('timed out')
const FAILED = Symbol('failed')
// What the breaker's background probe looks up: keys no token can have (jti and sid are never empty).
const PROBE_QUERY: LookupQuery = { jti: '', sid: '', sub: '', iat: 0 }
const SWEEP_INTERVAL_MS = 60_000

/**
 * The revocation decision for one verified token. The replica's complete local
 * state answers at once, with no network call, while it is current (fed from
 * the store's log, see LogFollower). A mark found locally always decides. Once
 * the state may be older than MAX_STALENESS_MS, a "not revoked" is confirmed
 * by one store lookup within the time budget, unless the circuit breaker is
 * open: then FAIL_MODE decides at once and the store is left alone.
 */
export class RevocationChecker {
  readonly state = new RevocationState()
  readonly #store: RevocationStore
  readonly #options: CheckerOptions
  readonly #observer: CheckObserver | null
  readonly #breaker: CircuitBreaker
  readonly #now: () => number
  readonly #epochNow: Clock
  readonly #sweeper: NodeJS.Timeout
  #currentAsOf = Number.NEGATIVE_INFINITY
  #reloads = 0
  #closed = false
  #onLoaded: () => void = () => {}
  readonly #loaded = new Promise<void>((resolve) => { this.#onLoaded = resolve })

  constructor (store: RevocationStore, options: CheckerOptions, observer: CheckObserver | null = null) {
    this.#store = store
    this.#options = options
    this.#observer = observer
    this.#now = options.now ?? (() => performance.now())
    this.#epochNow = options.now ?? Date.now
    this.#breaker = new CircuitBreaker({ ...options.breaker, onHalfOpen: () => { this.#probe().catch(() => {}) } })
    this.#sweeper = setInterval(() => this.prune(), SWEEP_INTERVAL_MS).unref()
    store.follow({
      onEvent: (event) => this.state.apply(event, nowSeconds(this.#epochNow)),
      onCurrent: (ageMs) => {
        const asOf = this.#now() - ageMs
        if (asOf > this.#currentAsOf) this.#currentAsOf = asOf
        this.#onLoaded()
      },
      onReload: (reason: ReloadReason) => { if (reason !== 'start') this.#reloads++ },
      onAsciiMark: (kind, bytes, start, end, expiresAt) => this.state.applyAscii(kind, bytes, start, end, expiresAt, nowSeconds(this.#epochNow)),
      onLoadSize: (n) => this.state.reserve(n, nowSeconds(this.#epochNow))
    })
  }

  /** Whether the complete state was loaded at least once (readiness waits for it). */
  get loaded (): boolean {
    return this.#currentAsOf !== Number.NEGATIVE_INFINITY
  }

  /** Resolves true once the state is loaded, false when `ms` passed first. */
  async whenLoaded (ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<false>((resolve) => { timer = setTimeout(resolve, ms, false) })
    try {
      return await Promise.race([this.#loaded.then(() => true), late])
    } finally {
      clearTimeout(timer)
    }
  }

  /** How old the local state may be, in milliseconds; Infinity before it was loaded. */
  get stalenessMs (): number {
    return Math.max(0, this.#now() - this.#currentAsOf)
  }

  /** Whether the local state alone decides. */
  get current (): boolean {
    return this.stalenessMs <= this.#options.maxStalenessMs
  }

  get maxStalenessMs (): number {
    return this.#options.maxStalenessMs
  }

  /** Full reloads after the first load (the log had been trimmed past this replica, or a failover lost entries). */
  get reloads (): number {
    return this.#reloads
  }

  get breakerState (): BreakerState {
    return this.#breaker.state
  }

  /** Answered from the local state; the store is asked only when a stale state has to be confirmed. */
  async check (query: LookupQuery): Promise<CheckOutcome> {
    const local = this.state.covering(query, nowSeconds(this.#epochNow))
    if (local !== null) return local
    if (this.current) {
      this.#observer?.onLookup(0, 'hit')
      return 'ok'
    }
    if (!this.#breaker.tryAcquire()) return this.#storeUnavailable()
    return await this.#checkStore(query)
  }

  async #checkStore (query: LookupQuery): Promise<CheckOutcome> {
    const started = performance.now()
    const result = await this.#lookupWithin(query)
    const duration = performance.now() - started
    if (result === TIMED_OUT || result === FAILED) {
      this.#breaker.failure()
      this.#observer?.onLookup(duration, result === TIMED_OUT ? 'timeout' : 'error')
      return this.#storeUnavailable()
    }
    this.#breaker.success()
    this.#observer?.onLookup(duration, 'miss')
    return result ?? 'ok'
  }

  /** Records a revocation this replica wrote, before its log entry comes back. */
  remember (event: RevocationEvent): void {
    this.state.apply(event, nowSeconds(this.#epochNow))
  }

  /** Stops the breaker's probing and the sweeper; the store is closed by its owner. */
  close (): void {
    this.#closed = true
    this.#breaker.close()
    clearInterval(this.#sweeper)
  }

  /** Drops expired marks from the local state; returns how many went. */
  prune (): number {
    return this.state.sweep(nowSeconds(this.#epochNow))
  }

  // The local state did not cover the token: open lets it through on that last complete state.
  #storeUnavailable (): CheckOutcome {
    return this.#options.failMode === 'open' ? 'degraded' : 'unavailable'
  }

  /** Half-open with no traffic: one lookup decides whether the breaker closes or stays open. */
  async #probe (): Promise<void> {
    if (this.#closed || !this.#breaker.tryAcquire()) return
    const result = await this.#lookupWithin(PROBE_QUERY)
    if (result === TIMED_OUT || result === FAILED) this.#breaker.failure()
    else this.#breaker.success()
  }

  #lookupWithin (query: LookupQuery): Promise<MarkKind | null | typeof TIMED_OUT | typeof FAILED> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.#options.timeoutMs, TIMED_OUT)
      this.#store.lookup(query).then(
        (kind) => { clearTimeout(timer); resolve(kind) },
        () => { clearTimeout(timer); resolve(FAILED) }
      )
    })
  }
}
