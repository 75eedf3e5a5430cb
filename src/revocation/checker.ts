import { GenerationalMap } from '../cache/generational-map.js'
import type { FailMode } from '../config/types.js'
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js'
import { LocalMarks } from './local-marks.js'
import type { LookupQuery, MarkKind, RevocationEvent, RevocationStore } from './store.js'
import { nowSeconds } from './store.js'

/**
 * `ok`: not revoked. `degraded`: the store could not answer and FAIL_MODE=open
 * let the request through. `unavailable`: the same under FAIL_MODE=closed.
 */
export type CheckOutcome = 'ok' | 'degraded' | 'unavailable' | MarkKind

export interface CheckerOptions {
  readonly timeoutMs: number
  readonly failMode: FailMode
  readonly cacheSize: number
  /** How long a "not revoked" answer may be reused while events flow. */
  readonly negativeTtlMs: number
  /** Consecutive failures that open the breaker (5) and its cool-down (1000 ms). */
  readonly breaker?: Pick<BreakerOptions, 'failureThreshold' | 'coolDownMs'>
}

export interface CheckObserver {
  onLookup: (durationMs: number, outcome: 'hit' | 'miss' | 'error' | 'timeout') => void
}

const TIMED_OUT = Symbol('timed out')
const FAILED = Symbol('failed')
// What the breaker's background probe looks up: keys no token can have (jti and sid are never empty).
const PROBE_QUERY: LookupQuery = { jti: '', sid: '', sub: '', iat: 0 }

/**
 * The revocation decision for one verified token: local knowledge first, then a
 * "not revoked" cache that is trusted only while the pub/sub subscription is
 * healthy, then one store lookup within the time budget, unless the circuit
 * breaker is open: then FAIL_MODE decides at once and the store is left alone.
 */
export class RevocationChecker {
  readonly marks: LocalMarks
  readonly #store: RevocationStore
  readonly #options: CheckerOptions
  readonly #notRevoked: GenerationalMap<true> | null
  readonly #observer: CheckObserver | null
  readonly #breaker: CircuitBreaker
  #healthy = false
  // Bumped by every event: a lookup that raced an event must not cache its stale "not revoked".
  #generation = 0
  #closed = false

  constructor (store: RevocationStore, options: CheckerOptions, observer: CheckObserver | null = null) {
    this.#store = store
    this.#options = options
    this.#observer = observer
    this.#breaker = new CircuitBreaker({ ...options.breaker, onHalfOpen: () => { this.#probe().catch(() => {}) } })
    this.marks = new LocalMarks(options.cacheSize)
    this.#notRevoked = options.cacheSize > 0 && options.negativeTtlMs > 0
      ? new GenerationalMap<true>(options.cacheSize, options.negativeTtlMs)
      : null
    store.subscribe({
      onEvent: (event) => this.#onEvent(event),
      onHealth: (healthy) => this.#onHealth(healthy)
    })
  }

  get subscriptionHealthy (): boolean {
    return this.#healthy
  }

  get breakerState (): BreakerState {
    return this.#breaker.state
  }

  get cachedNotRevoked (): number {
    return this.#notRevoked?.size ?? 0
  }

  /**
   * Answered at once when local knowledge decides (the common case: a known
   * token); a promise only when the store has to be asked.
   */
  check (query: LookupQuery, exp: number): CheckOutcome | Promise<CheckOutcome> {
    const local = this.marks.covers(query, nowSeconds())
    if (local !== null) return local
    if (this.#healthy && this.#notRevoked?.get(query.jti) === true) {
      this.#observer?.onLookup(0, 'hit')
      return 'ok'
    }
    if (!this.#breaker.tryAcquire()) return this.#storeUnavailable()
    return this.#checkStore(query, exp)
  }

  async #checkStore (query: LookupQuery, exp: number): Promise<CheckOutcome> {
    const generation = this.#generation
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
    if (result !== null) {
      this.marks.addToken(query.jti, exp + 1)
      return result
    }
    if (this.#healthy && generation === this.#generation) this.#notRevoked?.set(query.jti, true)
    return 'ok'
  }

  /** Records a revocation this replica wrote, before the event comes back. */
  remember (event: RevocationEvent): void {
    this.#onEvent(event)
  }

  /** Stops the breaker's probing; the store is closed by its owner. */
  close (): void {
    this.#closed = true
    this.#breaker.close()
  }

  prune (): number {
    return this.marks.prune(nowSeconds())
  }

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

  #onEvent (event: RevocationEvent): void {
    this.#generation++
    this.marks.apply(event)
    if (event.kind === 'jti') this.#notRevoked?.delete(event.id)
  }

  #onHealth (healthy: boolean): void {
    this.#generation++
    if (!healthy) this.#notRevoked?.clear()
    this.#healthy = healthy
  }
}
