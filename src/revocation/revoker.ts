import type { RevocationChecker } from './checker.js'
import { markLifetimeS, revokedBefore, tokenMarkExpiry, type MarkLimits } from './mark-lifetime.js'
import type { Clock, RevocationStore } from './store.js'
import { nowSeconds } from './store.js'

/** What the revoker reads of the configuration. */
export interface RevokerOptions {
  readonly jwt: MarkLimits
}

/**
 * Writes revocations with the lifetimes the design prescribes and teaches this
 * replica's checker at once (other replicas learn from the store's log). Every
 * method resolves only after the store acknowledged the write; a rejection
 * means "not revoked yet": the route answers 503 and the caller retries.
 */
export class Revoker {
  readonly #store: RevocationStore
  readonly #checker: RevocationChecker
  readonly #limits: MarkLimits
  readonly #sessionTtlS: number
  readonly #now: Clock

  constructor (store: RevocationStore, checker: RevocationChecker, config: RevokerOptions, options: { readonly now?: Clock } = {}) {
    this.#now = options.now ?? Date.now
    this.#store = store
    this.#checker = checker
    this.#limits = config.jwt
    // A session, user or global mark must outlive every token it could match (see mark-lifetime.ts).
    this.#sessionTtlS = markLifetimeS(config.jwt)
  }

  /** Revokes one token until its exp (plus tolerance); false when it already was revoked. */
  async token (jti: string, exp: number): Promise<boolean> {
    const now = nowSeconds(this.#now)
    const expiresAt = tokenMarkExpiry(exp, now, this.#limits)
    const ttl = Math.max(1, expiresAt - now)
    const fresh = await this.#store.revokeToken(jti, ttl)
    this.#checker.remember({ kind: 'jti', id: jti, expiresAt })
    return fresh
  }

  async session (sid: string): Promise<void> {
    await this.#store.revokeSession(sid, this.#sessionTtlS)
    this.#checker.remember({ kind: 'session', id: sid, expiresAt: nowSeconds(this.#now) + this.#sessionTtlS })
  }

  /**
   * Every token of `sub` issued up to now plus the clock tolerance (same-second tokens
   * included: safety first); returns that "revoked before".
   */
  async user (sub: string): Promise<number> {
    const now = nowSeconds(this.#now)
    const before = revokedBefore(now, this.#limits)
    await this.#store.revokeUser(sub, before, this.#sessionTtlS)
    this.#checker.remember({ kind: 'user', id: sub, before, expiresAt: now + this.#sessionTtlS })
    return before
  }

  async everyone (): Promise<number> {
    const now = nowSeconds(this.#now)
    const before = revokedBefore(now, this.#limits)
    await this.#store.revokeAll(before, this.#sessionTtlS)
    this.#checker.remember({ kind: 'global', before, expiresAt: now + this.#sessionTtlS })
    return before
  }

  /** Lifetime of a jti mark when the token's exp is unknown (admin revocation by bare jti). */
  get longestLifetimeS (): number {
    return this.#sessionTtlS
  }
}
