/** The token limits every mark's lifetime follows (JWT_MAX_TOKEN_LIFETIME, JWT_CLOCK_TOLERANCE). */
export interface MarkLimits {
  readonly maxTokenLifetimeS: number
  readonly clockToleranceS: number
}

/**
 * How long every revocation is kept, computed here and nowhere else (issue 16).
 *
 * The verifier accepts a token while `iat <= now + tol`, `exp - iat <= max`
 * (JWT_MAX_TOKEN_LIFETIME) and `now <= exp + tol`. A mark written at T covers
 * tokens that exist at T (jti, session), or whose iat is up to the tolerance
 * ahead (user, global: see revokedBefore). Such a token has `iat <= T + tol`, so
 * `exp <= T + tol + max`, and it is accepted until `exp + tol <= T + max + 2 tol`.
 * A mark whose token's exp is unknown lives that long; so does the revocation
 * log, whose entries must outlive the marks they describe.
 */
export function markLifetimeS (limits: MarkLimits): number {
  return limits.maxTokenLifetimeS + 2 * limits.clockToleranceS
}

/**
 * The "revoked before" of a user or global mark written at `nowS`: the one
 * place the covering rule meets the clock tolerance. A token whose iat is up
 * to the tolerance ahead (an issuer whose clock runs fast) is accepted, so it
 * is covered too, and so are the tokens a rotation mints from it. The price:
 * a token issued within the tolerance after the revocation (a fresh login)
 * is covered as well; the client logs in again once the tolerance has passed.
 * Stored in the mark itself, so the memory store, the Redis lookup, every
 * replica's state and the mark script need no rule of their own.
 */
export function revokedBefore (nowS: number, limits: MarkLimits): number {
  return nowS + limits.clockToleranceS
}

/**
 * Expiry of the jti mark of a token whose exp is known: it is accepted until
 * exp + tol. Never later than the longest mark: a verified token cannot need
 * more, and an exp given by hand (the admin route) at or past 2^32 would not
 * fit the 32-bit expiries of the load index and the mark table.
 */
export function tokenMarkExpiry (exp: number, nowS: number, limits: MarkLimits): number {
  return Math.min(exp + limits.clockToleranceS, nowS + markLifetimeS(limits))
}
