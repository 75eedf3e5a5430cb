/** The claims tokengate relies on; anything else a token carries passes through untouched. */
export interface Claims {
  readonly sub: string
  readonly jti: string
  readonly exp: number
  readonly iat: number
  readonly nbf?: number
  readonly sid?: string
  readonly token_type?: string
  readonly scope?: string
  readonly scp?: readonly string[] | string
  readonly roles?: readonly string[] | string
  readonly role?: string
  readonly iss?: string
  readonly aud?: string | readonly string[]
  readonly [claim: string]: unknown
}

const MAX_ID_LENGTH = 512

function isId (value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH
}

/** fast-jwt checks presence and time claims; this checks the types tokengate depends on. */
export function hasUsableClaims (payload: Record<string, unknown>): payload is Claims & Record<string, unknown> {
  return isId(payload.sub) && isId(payload.jti) &&
    Number.isFinite(payload.exp) && Number.isFinite(payload.iat) &&
    (payload.sid === undefined || isId(payload.sid))
}

export function isRefreshToken (claims: Claims): boolean {
  return claims.token_type === 'refresh'
}

/** Session id: tokens without `sid` form a session of their own, keyed by their jti. */
export function sessionOf (claims: Claims): string {
  return claims.sid ?? claims.jti
}

function words (value: unknown, separator: RegExp): string[] {
  if (typeof value === 'string') return value.split(separator).filter((w) => w !== '')
  if (Array.isArray(value)) return value.filter((w): w is string => typeof w === 'string')
  return []
}

/** OAuth scopes from `scope` (space-separated) or `scp` (list). */
export function scopesOf (claims: Claims): string[] {
  return claims.scope !== undefined ? words(claims.scope, / +/) : words(claims.scp, / +/)
}

/** Roles from `roles` (list or comma string) and `role`. */
export function rolesOf (claims: Claims): string[] {
  const roles = words(claims.roles, /[ ,]+/)
  if (typeof claims.role === 'string' && claims.role !== '') roles.push(claims.role)
  return roles
}

/** Whether the token grants `role` through its roles, role or scope claims. */
export function grants (claims: Claims, role: string): boolean {
  return rolesOf(claims).includes(role) || scopesOf(claims).includes(role)
}
