import type { Claims } from './claims.js'

export interface RotationLimits {
  readonly refreshTokenTtlS: number
  readonly sessionMaxLifetimeS: number
}

/** Where a rotation may go: the session's start, its absolute end, and the latest exp of the new refresh token. */
export interface RotationWindow {
  readonly sessionStart: number
  readonly sessionEnd: number
  readonly refreshNotAfter: number
}

/**
 * When the session a refresh token belongs to began: its `auth_time` (the
 * login, carried through every rotation), or the token's own `iat` for the
 * first token of a session. The earlier of the two wins, so that no claim can
 * move the start later than the token itself.
 */
export function sessionStartOf (claims: Claims): number {
  const authTime = claims.auth_time
  return typeof authTime === 'number' && Number.isFinite(authTime) ? Math.min(authTime, claims.iat) : claims.iat
}

/**
 * The limits of one rotation (issue 11 item 5): nothing issued outlives
 * SESSION_MAX_LIFETIME from the session's start, and a new refresh token never
 * outlives the one it replaces by more than the refresh lifetime. Null when
 * the session has ended: the client must log in again.
 */
export function rotationWindow (old: Claims, nowS: number, limits: RotationLimits): RotationWindow | null {
  const sessionStart = sessionStartOf(old)
  const sessionEnd = sessionStart + limits.sessionMaxLifetimeS
  if (nowS >= sessionEnd) return null
  return { sessionStart, sessionEnd, refreshNotAfter: Math.min(sessionEnd, old.exp + limits.refreshTokenTtlS) }
}
