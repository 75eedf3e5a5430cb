import { within } from '../async/within.js'
import { RecentRevocations, type RevokedToken } from './recent-revocations.js'
import type { RevocationOrigin } from './revocation-origin.js'
import { RevocationState } from './revocation-state.js'
import type { Clock, LookupQuery, MarkKind, ReloadReason, RevocationEvent, RevocationStore } from './store.js'
import { nowSeconds } from './store.js'

export interface ReplicaStateOptions {
  /** Past this, the state alone no longer decides "not revoked" (`current` turns false). */
  readonly maxStalenessMs: number
  /** How long the origins of revocations are kept for the alerts (REVOKED_RETRY_WINDOW_S); 0 keeps none. */
  readonly originWindowMs?: number
  /**
   * Tests inject a clock (milliseconds since the epoch): it ages both the
   * state and its marks. Without one, marks expire by Date.now and staleness
   * is measured by performance.now, so that a wall clock stepped back cannot
   * make a stale state look current.
   */
  readonly now?: Clock
}

const SWEEP_INTERVAL_MS = 60_000

/**
 * What every replica holds: the complete revocation state (the mark tables),
 * fed from the store's log from construction on (a full load, then every
 * entry), and how current it is. It answers "which mark covers this token"
 * with no network call; whether that answer may decide alone is `current`.
 * A sweeper drops expired marks.
 */
export class ReplicaState {
  readonly marks = new RevocationState()
  readonly #recent: RecentRevocations
  readonly #maxStalenessMs: number
  readonly #now: () => number
  readonly #epochNow: Clock
  readonly #sweeper: NodeJS.Timeout
  #currentAsOf = Number.NEGATIVE_INFINITY
  #reloads = 0
  #stopped: string | null = null
  #onLoaded: () => void = () => {}
  readonly #loaded = new Promise<void>((resolve) => { this.#onLoaded = resolve })

  constructor (store: Pick<RevocationStore, 'follow'>, options: ReplicaStateOptions) {
    this.#maxStalenessMs = options.maxStalenessMs
    this.#now = options.now ?? (() => performance.now())
    this.#epochNow = options.now ?? Date.now
    this.#recent = new RecentRevocations(options.originWindowMs ?? 0, this.#epochNow)
    this.#sweeper = setInterval(() => this.prune(), SWEEP_INTERVAL_MS).unref()
    store.follow({
      onEvent: (event) => this.remember(event),
      onCurrent: (ageMs) => {
        const asOf = this.#now() - ageMs
        if (asOf > this.#currentAsOf) this.#currentAsOf = asOf
        this.#onLoaded()
      },
      onReload: (reason: ReloadReason) => { if (reason !== 'start') this.#reloads++ },
      onStop: (reason) => { this.#stopped = reason },
      onAsciiMark: (kind, issuer, bytes, start, end, expiresAt) => this.marks.applyAscii(kind, issuer, bytes, start, end, expiresAt, nowSeconds(this.#epochNow)),
      onLoadSize: (n) => this.marks.reserve(n, nowSeconds(this.#epochNow))
    })
  }

  /** Whether the complete state was loaded at least once (readiness waits for it). */
  get loaded (): boolean {
    return this.#currentAsOf !== Number.NEGATIVE_INFINITY
  }

  /**
   * Loaded and still following: false for good once the log became unreadable
   * (a newer format), so /readyz answers 503; the state then ages past
   * MAX_STALENESS_MS and every check goes to the store.
   */
  get ready (): boolean {
    return this.loaded && this.#stopped === null
  }

  /** Why the state stopped following the log, or null. */
  get stopped (): string | null {
    return this.#stopped
  }

  /** Resolves true once the state is loaded, false when `ms` passed first. */
  async whenLoaded (ms: number): Promise<boolean> {
    return await within(this.#loaded.then(() => true), ms, false)
  }

  /** How old the state may be, in milliseconds; Infinity before it was loaded. */
  get stalenessMs (): number {
    return Math.max(0, this.#now() - this.#currentAsOf)
  }

  /** Whether the state alone decides. */
  get current (): boolean {
    return this.stalenessMs <= this.#maxStalenessMs
  }

  get maxStalenessMs (): number {
    return this.#maxStalenessMs
  }

  /** Full reloads after the first load (the log had been trimmed past this replica, or a failover lost entries). */
  get reloads (): number {
    return this.#reloads
  }

  /** The live mark that covers the token, or null (current or not: a mark found always decides). */
  covering (query: LookupQuery): MarkKind | null {
    return this.marks.covering(query, nowSeconds(this.#epochNow))
  }

  /** A revocation from the log, or one this replica wrote before its log entry comes back. */
  remember (event: RevocationEvent): void {
    this.marks.apply(event, nowSeconds(this.#epochNow))
    this.#recent.add(event)
  }

  /** Who revoked this token and when, if one of its marks was written within the origin window (recent-revocations.ts). */
  recentOrigin (token: RevokedToken): RevocationOrigin | undefined {
    return this.#recent.of(token)
  }

  /** Live marks held now. */
  size (): number {
    return this.marks.size(nowSeconds(this.#epochNow))
  }

  /** Drops expired marks; returns how many went. */
  prune (): number {
    return this.marks.sweep(nowSeconds(this.#epochNow))
  }

  /** Stops the sweeper; the store (and its log follower) is closed by its owner. */
  close (): void {
    clearInterval(this.#sweeper)
  }
}
