import { Failures, GatewayError } from '../errors.js'
import type { MarkKind } from './mark-kind.js'
import { markLifetimeS, revokedBefore, tokenMarkExpiry, type MarkLimits } from './mark-lifetime.js'
import type { ReplicaState } from './replica-state.js'
import { addressDigest, type RevocationOrigin } from './revocation-origin.js'
import type { Clock, RevocationEvent, RevocationStore } from './store.js'
import { nowSeconds } from './store.js'
import type { Tracing } from '../tracing/tracing.js'

/** The operation a revocation belongs to: the `reason` label of tokengate_revocations_total (bounded). */
export type RevocationReason =
  | 'logout'
  | 'token_refreshed'
  | 'refresh_reuse'
  | 'token_revoked'
  | 'admin_token_revoked'
  | 'admin_user_revoked'
  | 'admin_revoke_all'
  | IdpSource

/** Where a revocation pushed by an identity provider came from (src/idp/); also a `reason` of the metric. */
export type IdpSource = 'backchannel_logout' | 'ssf_push' | 'ssf_poll' | 'global_token_revocation'

/** A user's own revocations: their origin carries the client's address (revocation-origin.ts). */
const SELF_SERVICE: ReadonlySet<RevocationReason> = new Set(['logout', 'token_revoked'])
const IDP_SOURCES: ReadonlySet<RevocationReason> = new Set(['backchannel_logout', 'ssf_push', 'ssf_poll', 'global_token_revocation'])

/** Counts every mark this replica wrote (tokengate_revocations_total). */
export interface RevocationCounter {
  inc: (labels: { kind: MarkKind, reason: RevocationReason }) => void
}

/** What the revoker reads of the configuration. */
export interface RevokerConfig {
  readonly jwt: MarkLimits
}

export interface RevokerOptions {
  readonly now?: Clock
  readonly counter?: RevocationCounter
  /** OTEL_*: a span per store write; undefined when tracing is off. */
  readonly tracing?: Tracing
}

/**
 * Builds each revocation once (kind, issuer, id, expiry), with the lifetimes
 * the design prescribes, writes it, teaches this replica's state at once
 * (other replicas learn from the store's log) and counts it. Every method
 * resolves only after the store acknowledged the write; a rejection is the
 * registry's 503 (STORE_UNAVAILABLE): "not revoked yet", the caller retries.
 * Every mark names its issuer: a token's own (issuerOfToken), the one an
 * administrator named (IssuerScope), or ANY_ISSUER (issuer-scope.ts).
 * `client` is the address of whoever asked: a user's own revocation carries
 * its digest, an identity provider's its time only, an administrator's
 * nothing (RevocationOrigin).
 */
export class Revoker {
  readonly #store: RevocationStore
  readonly #replica: ReplicaState
  readonly #limits: MarkLimits
  readonly #sessionTtlS: number
  readonly #now: Clock
  readonly #counter: RevocationCounter | null
  readonly #tracing: Tracing | undefined

  constructor (store: RevocationStore, replica: ReplicaState, config: RevokerConfig, options: RevokerOptions = {}) {
    this.#now = options.now ?? Date.now
    this.#counter = options.counter ?? null
    this.#tracing = options.tracing
    this.#store = store
    this.#replica = replica
    this.#limits = config.jwt
    // A session, user or global mark must outlive every token it could match (see mark-lifetime.ts).
    this.#sessionTtlS = markLifetimeS(config.jwt)
  }

  /** Revokes one token until its exp (plus tolerance); false when it already was revoked. */
  async token (issuer: string, jti: string, exp: number, reason: RevocationReason, client?: string): Promise<boolean> {
    const now = nowSeconds(this.#now)
    return await this.#write({ kind: 'jti', id: jti, issuer, expiresAt: tokenMarkExpiry(exp, now, this.#limits), origin: this.#originOf(reason, client) }, reason)
  }

  async session (issuer: string, sid: string, reason: RevocationReason, client?: string): Promise<void> {
    await this.#write(this.sessionEvent(issuer, sid, reason, client), reason)
  }

  /** The event `session` writes, built without writing it (src/idp/ enforces it before the write). */
  sessionEvent (issuer: string, sid: string, reason: RevocationReason, client?: string): RevocationEvent {
    return { kind: 'session', id: sid, issuer, expiresAt: nowSeconds(this.#now) + this.#sessionTtlS, origin: this.#originOf(reason, client) }
  }

  /** The event `user` writes, its "revoked before" fixed now: a retried write revokes exactly what the first would have. */
  userEvent (issuer: string, sub: string, reason: RevocationReason, client?: string): RevocationEvent & { readonly kind: 'user' } {
    const now = nowSeconds(this.#now)
    return { kind: 'user', id: sub, issuer, before: revokedBefore(now, this.#limits), expiresAt: now + this.#sessionTtlS, origin: this.#originOf(reason, client) }
  }

  /** Writes an event built above (the same path as every method here); false when it already was stored. */
  async store (event: RevocationEvent, reason: RevocationReason): Promise<boolean> {
    return await this.#write(event, reason)
  }

  /**
   * Every token of `sub` of `issuer` issued up to now plus the clock tolerance (same-second tokens
   * included: safety first); returns that "revoked before".
   */
  async user (issuer: string, sub: string, reason: RevocationReason, client?: string): Promise<number> {
    const event = this.userEvent(issuer, sub, reason, client)
    await this.#write(event, reason)
    return event.before
  }

  /** Every token of `issuer` (or of every issuer: ANY_ISSUER) issued up to now plus the clock tolerance. */
  async everyone (issuer: string, reason: RevocationReason): Promise<number> {
    const now = nowSeconds(this.#now)
    const before = revokedBefore(now, this.#limits)
    await this.#write({ kind: 'global', issuer, before, expiresAt: now + this.#sessionTtlS }, reason)
    return before
  }

  /** Lifetime of a jti mark when the token's exp is unknown (admin revocation by bare jti). */
  get longestLifetimeS (): number {
    return this.#sessionTtlS
  }

  #originOf (reason: RevocationReason, client: string | undefined): RevocationOrigin | undefined {
    if (SELF_SERVICE.has(reason)) return client === undefined ? undefined : { at: this.#now(), address: addressDigest(client) }
    return IDP_SOURCES.has(reason) ? { at: this.#now(), address: null } : undefined
  }

  async #write (event: RevocationEvent, reason: RevocationReason): Promise<boolean> {
    let fresh: boolean
    const span = this.#tracing?.child('tokengate.revocation.write', { 'tokengate.revocation.kind': event.kind, 'tokengate.revocation.reason': reason, 'tokengate.issuer': event.issuer }, true)
    try {
      fresh = await this.#store.write(event)
    } catch (err) {
      span?.fail('store write failed')
      // Never a false 2xx. The store's own refusal (too few replicas confirmed) is already the registry's 503.
      if (err instanceof GatewayError && err.failure === Failures.STORE_UNAVAILABLE) throw err
      throw new GatewayError(Failures.STORE_UNAVAILABLE, { cause: err })
    } finally {
      span?.end()
    }
    this.#replica.remember(event)
    if (fresh) this.#counter?.inc({ kind: event.kind, reason })
    return fresh
  }
}
