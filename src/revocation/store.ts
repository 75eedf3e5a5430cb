import type { IdMarkKind, MarkKind } from './mark-kind.js'
import type { RevocationOrigin } from './revocation-origin.js'

export type { MarkKind } from './mark-kind.js'

export interface LookupQuery {
  /** The token's issuer (`iss`, '' when it has none): marks are kept per issuer. */
  readonly iss: string
  readonly jti: string
  /** Session id; the jti itself for tokens without `sid`. */
  readonly sid: string
  readonly sub: string
  /** Issued-at, seconds. */
  readonly iat: number
}

/**
 * One revocation: built once by the Revoker, written as is by the store,
 * and delivered as is to every replica. `issuer` is the issuer the mark
 * belongs to: the `iss` of the tokens it covers ('' for tokens without one),
 * or ANY_ISSUER (issuer-scope.ts) for every issuer; `expiresAt` (seconds) is when
 * no token the mark could match is alive any more (mark-lifetime.ts).
 * `origin`: who revoked it and when, for the alerts (revocation-origin.ts);
 * absent for an administrator's revocation and for marks read from a full load.
 */
export type RevocationEvent = (
  | { readonly kind: IdMarkKind, readonly id: string, readonly issuer: string, readonly expiresAt: number }
  | { readonly kind: 'user', readonly id: string, readonly issuer: string, readonly before: number, readonly expiresAt: number }
  | { readonly kind: 'global', readonly issuer: string, readonly before: number, readonly expiresAt: number }
) & { readonly origin?: RevocationOrigin }

export interface StoreStats {
  readonly marks: Readonly<Record<MarkKind, number>>
  readonly memoryBytes: number | null
}

/** Why a follower read the whole state again instead of resuming from its position. */
export type ReloadReason = 'start' | 'trimmed' | 'ahead'

export interface LogListener {
  /** Every revocation, from the full state at start and then in log order (repeats are harmless). */
  onEvent: (event: RevocationEvent) => void
  /**
   * Everything acknowledged up to `ageMs` ago has been delivered.
   * -Infinity: current from now on (a single instance sees every write itself).
   */
  onCurrent: (ageMs: number) => void
  onReload?: (reason: ReloadReason, marks: number) => void
  /**
   * A full load's jti or session mark whose id is ASCII, as bytes of the load
   * reply (no string or object per mark); without it the mark comes as an event.
   */
  onAsciiMark?: (kind: IdMarkKind, issuer: string, bytes: Uint8Array, start: number, end: number, expiresAt: number) => void
  /** The log can no longer be followed (written in a format this replica does not know): nothing more will come. */
  onStop?: (reason: string) => void
  /** A full load is about to deliver about n more marks (sizes the state once). */
  onLoadSize?: (n: number) => void
}

/**
 * The shared revocation state. Every write resolves only after the store has
 * durably accepted it and appended it to the revocation log (fail-secure); a rejected promise
 * means the revocation may not exist and the caller must answer 503.
 */
export interface RevocationStore {
  readonly name: 'memory' | 'redis'
  /** One round trip: the first mark (jti, session, user, global) that covers the token, or null (see covering.ts). */
  lookup: (query: LookupQuery) => Promise<MarkKind | null>
  /**
   * Stores one revocation until its `expiresAt`, merged with a live mark of
   * the same kind and id (the later "revoked before", the longer lifetime).
   * Resolves false only for a jti mark that was already there (a refresh
   * token consumed twice); true otherwise.
   */
  write: (event: RevocationEvent) => Promise<boolean>
  /** Delivers the complete state, then every later revocation, to one listener (the checker). */
  follow: (listener: LogListener) => void
  ping: () => Promise<void>
  stats: () => Promise<StoreStats>
  close: () => Promise<void>
}

/** Milliseconds since the epoch (Date.now); stores, checker and revoker take one so tests need not sleep. */
export type Clock = () => number

/** Seconds since the epoch; every mark and claim uses this unit. */
export function nowSeconds (now: Clock = Date.now): number {
  return Math.floor(now() / 1000)
}
