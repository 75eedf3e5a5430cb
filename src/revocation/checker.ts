import { NeedsIo } from '../async/needs-io.js'
import { within } from '../async/within.js'
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js'
import type { ReplicaState } from './replica-state.js'
import type { LookupQuery, MarkKind, RevocationStore } from './store.js'
import type { Tracing } from '../tracing/tracing.js'

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
  /** Consecutive failures that open the breaker (5) and its cool-down (1000 ms). */
  readonly breaker?: Pick<BreakerOptions, 'failureThreshold' | 'coolDownMs'>
  /** OTEL_*: a span per store lookup (a child of the decision that waits for it); undefined when tracing is off. */
  readonly tracing?: Tracing
}

export interface CheckObserver {
  onLookup: (durationMs: number, outcome: 'hit' | 'miss' | 'error' | 'timeout') => void
}

const TIMED_OUT = Symbol('timed out')
const FAILED = Symbol('failed')
// What the breaker's background probe looks up: keys no token can have (jti and sid are never empty).
const PROBE_QUERY: LookupQuery = { iss: '', jti: '', sid: '', sub: '', iat: 0 }

/**
 * The revocation decision for one verified token. The replica's state
 * (ReplicaState) answers at once, with no network call, while it is current.
 * A mark found locally always decides. Once the state may be older than
 * MAX_STALENESS_MS, a "not revoked" is confirmed by one store lookup within
 * the time budget, unless the circuit breaker is open: then FAIL_MODE decides
 * at once and the store is left alone.
 */
export class RevocationChecker {
  readonly #replica: ReplicaState
  readonly #store: Pick<RevocationStore, 'lookup'>
  readonly #options: CheckerOptions
  readonly #observer: CheckObserver | null
  readonly #breaker: CircuitBreaker
  #closed = false

  constructor (replica: ReplicaState, store: Pick<RevocationStore, 'lookup'>, options: CheckerOptions, observer: CheckObserver | null = null) {
    this.#replica = replica
    this.#store = store
    this.#options = options
    this.#observer = observer
    this.#breaker = new CircuitBreaker({ ...options.breaker, onHalfOpen: () => { this.#probe().catch(() => {}) } })
  }

  get breakerState (): BreakerState {
    return this.#breaker.state
  }

  /**
   * Answered from the replica's state, at once (see needs-io.ts); the store is
   * asked only when a stale state has to be confirmed, unless the breaker is open.
   */
  check (query: LookupQuery): CheckOutcome | NeedsIo<CheckOutcome> {
    const local = this.#replica.covering(query)
    if (local !== null) return local
    if (this.#replica.current) {
      this.#observer?.onLookup(0, 'hit')
      return 'ok'
    }
    if (!this.#breaker.tryAcquire()) return this.#storeUnavailable()
    return new NeedsIo(async () => await this.#checkStore(query))
  }

  async #checkStore (query: LookupQuery): Promise<CheckOutcome> {
    const started = performance.now()
    const span = this.#options.tracing?.child('tokengate.revocation.lookup', { 'tokengate.issuer': query.iss }, true)
    const result = await this.#lookupWithin(query)
    const duration = performance.now() - started
    if (result === TIMED_OUT || result === FAILED) {
      this.#breaker.failure()
      this.#observer?.onLookup(duration, result === TIMED_OUT ? 'timeout' : 'error')
      span?.set('tokengate.revocation.lookup', result === TIMED_OUT ? 'timeout' : 'error')
      span?.fail(result === TIMED_OUT ? 'store lookup timed out' : 'store lookup failed')
      span?.end()
      return this.#storeUnavailable()
    }
    this.#breaker.success()
    this.#observer?.onLookup(duration, 'miss')
    span?.set('tokengate.revocation.lookup', result === null ? 'not_revoked' : result)
    span?.end()
    return result ?? 'ok'
  }

  /** Stops the breaker's probing; the replica's state and the store are closed by their owners. */
  close (): void {
    this.#closed = true
    this.#breaker.close()
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

  async #lookupWithin (query: LookupQuery): Promise<MarkKind | null | typeof TIMED_OUT | typeof FAILED> {
    return await within(this.#store.lookup(query).catch(() => FAILED), this.#options.timeoutMs, TIMED_OUT)
  }
}
