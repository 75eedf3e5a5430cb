/** Which mark revoked a token. */
export type MarkKind = 'jti' | 'session' | 'user' | 'global'

export interface LookupQuery {
  readonly jti: string
  /** Session id; the jti itself for tokens without `sid`. */
  readonly sid: string
  readonly sub: string
  /** Issued-at, seconds. */
  readonly iat: number
}

/** A revocation written by any replica, as every replica receives it. */
export type RevocationEvent =
  | { readonly kind: 'jti' | 'session', readonly id: string, readonly expiresAt: number }
  | { readonly kind: 'user', readonly id: string, readonly before: number, readonly expiresAt: number }
  | { readonly kind: 'global', readonly before: number, readonly expiresAt: number }

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
  onAsciiMark?: (kind: 'jti' | 'session', bytes: Uint8Array, start: number, end: number, expiresAt: number) => void
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
  /** Revokes one token until ttlS from now; resolves false when it was already revoked. */
  revokeToken: (jti: string, ttlS: number) => Promise<boolean>
  revokeSession: (sid: string, ttlS: number) => Promise<void>
  /** Revokes every token of `sub` issued at or before `before` (seconds). */
  revokeUser: (sub: string, before: number, ttlS: number) => Promise<void>
  revokeAll: (before: number, ttlS: number) => Promise<void>
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
