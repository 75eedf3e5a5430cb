import { createHash } from 'node:crypto'
/** Where verified claims keep their roles, read once through the issuer's roles claim (see fromIssuer). */
export const ROLES: unique symbol = Symbol('tokengate.roles')

/** Set on verified claims whose `typ` header is not JWT_REQUIRED_TYP: such a token is no access token here. */
export const NOT_ACCESS_TYP: unique symbol = Symbol('tokengate.notAccessTyp')

/** Set on verified claims whose issuer entry may grant ADMIN_ROLE (grants_admin; always for the single-issuer variables). */
export const GRANTS_ADMIN: unique symbol = Symbol('tokengate.grantsAdmin')

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
  readonly cnf?: { readonly jkt?: string, readonly x5tS256?: string }
  /** Roles found at the ROLES_CLAIM paths; a symbol, so never copied into a minted token nor serialised. */
  readonly [ROLES]?: readonly string[]
  readonly [NOT_ACCESS_TYP]?: true
  readonly [GRANTS_ADMIN]?: true
  readonly [claim: string]: unknown
}

// OpenID Connect Back-Channel Logout 1.0 §2.4 and RFC 8417 §2.3, as RFC 7515 §4.1.9 compares them.
const EVENT_TYPS: ReadonlySet<string> = new Set(['logout+jwt', 'secevent+jwt'])

/**
 * A logout token or security event token (SET): never an access token, whatever else it
 * carries. Both must hold `events` (Back-Channel Logout §2.4, RFC 8417 §2.2); the typ catches
 * those that name themselves without it. `typ` is already lower-cased without `application/`.
 */
export function isEventToken (payload: Readonly<Record<string, unknown>>, typ: string | null): boolean {
  return payload.events !== undefined || (typ !== null && EVENT_TYPS.has(typ))
}

/** ROLES_CLAIM parsed: each entry is a dot path into the payload (`realm_access.roles` is [realm_access, roles]). */
export type RolesClaim = ReadonlyArray<readonly string[]>

const MAX_PATH_SEGMENTS = 8

/** A claim path (ROLES_CLAIM, roles_claim): dot-separated names, `\.` a dot inside one; null when malformed. */
export function claimPath (text: string): string[] | null {
  const segments = text.split(/(?<!\\)\./).map((segment) => segment.replaceAll('\\.', '.'))
  return segments.some((segment) => segment === '') || segments.length > MAX_PATH_SEGMENTS ? null : segments
}

/** Where roles are read unless ROLES_CLAIM or roles_claim says otherwise. */
export const DEFAULT_ROLES_CLAIM: readonly string[] = ['roles', 'role']

export const CLAIM_PATH_RULE = `a dot path of 1 to ${MAX_PATH_SEGMENTS} claim names (such as realm_access.roles)`

const MAX_ID_LENGTH = 512

function isId (value: unknown): value is string {
  // Well-formed UTF-16 only: a lone surrogate comes back from Redis as U+FFFD, so a mark
  // written for it would never match the token again (a revoked token passing).
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH && value.isWellFormed()
}

/** fast-jwt checks presence and time claims; this checks the types tokengate depends on. */
export function hasUsableClaims (payload: Record<string, unknown>): payload is Claims & Record<string, unknown> {
  return isId(payload.sub) && isId(payload.jti) &&
    Number.isFinite(payload.exp) && Number.isFinite(payload.iat) &&
    (payload.sid === undefined || isId(payload.sid)) &&
    // RFC 7519 §4.1.1: a StringOrURI. The issuer keys marks, audit records and X-User-Issuer.
    (payload.iss === undefined || typeof payload.iss === 'string')
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

/** The value at a dot path; only own properties are followed, never the prototype chain. */
function valueAt (payload: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let value: unknown = payload
  for (const segment of path) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, segment)) return undefined
    value = (value as Record<string, unknown>)[segment]
  }
  return value
}

const ROLE_SEPARATORS = /[ ,]+/

/**
 * Roles at every ROLES_CLAIM path: a list of strings, or a string of roles
 * separated by commas or spaces. Plain loops: this runs once per new token.
 */
export function readRoles (payload: Readonly<Record<string, unknown>>, paths: RolesClaim): string[] {
  const roles: string[] = []
  for (const path of paths) {
    const value = valueAt(payload, path)
    if (typeof value === 'string') {
      for (const role of value.split(ROLE_SEPARATORS)) if (role !== '') roles.push(role)
    } else if (Array.isArray(value)) {
      for (const role of value) if (typeof role === 'string') roles.push(role)
    }
  }
  return roles
}

/**
 * The token's confirmation (RFC 7800 §3.1): `jkt`, a DPoP key's thumbprint (RFC 9449 §6.1), and
 * `x5t#S256`, a client certificate's (RFC 8705 §3.1). Strings only; undefined when neither.
 */
export function bindingOf (raw: unknown): Claims['cnf'] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined
  const jkt = Object.hasOwn(raw, 'jkt') ? (raw as Record<string, unknown>).jkt : undefined
  const x5t = Object.hasOwn(raw, 'x5t#S256') ? (raw as Record<string, unknown>)['x5t#S256'] : undefined
  if (typeof jkt !== 'string' && typeof x5t !== 'string') return undefined
  return {
    ...(typeof jkt === 'string' && { jkt }),
    ...(typeof x5t === 'string' && { x5tS256: x5t })
  }
}

/** The `cnf` claim (RFC 7800 §3.1) in its registered names, for introspection and a rotated token; undefined for none. */
export function confirmationClaim (cnf: Claims['cnf']): Record<string, string> | undefined {
  if (cnf === undefined) return undefined
  return {
    ...(cnf.jkt !== undefined && { jkt: cnf.jkt }),
    ...(cnf.x5tS256 !== undefined && { 'x5t#S256': cnf.x5tS256 })
  }
}

/** The claim names of an issuer entry (options.ts IssuerConfig) that fromIssuer reads. */
export interface IssuerClaimNames {
  readonly jtiClaim: string | null
  readonly sessionClaim: string | null
  readonly rolesClaim: RolesClaim
  readonly grantsAdmin: boolean
}

/** The revocation id of a token whose issuer names none: base64url(SHA-256(token)), 43 characters. */
export function tokenHash (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/**
 * A verified payload in the names the rest of tokengate reads, whatever its issuer calls them:
 * `jti` from its jti_claim (or the token's hash), `sid` from its session_claim (none when null),
 * its roles, and whether they may include ADMIN_ROLE. The issuer's defaults (`jti`, `sid`)
 * leave the payload as it came.
 */
export function fromIssuer<T extends Record<string, unknown>> (payload: T, names: IssuerClaimNames, token: string): T {
  const claims = payload as Record<string, unknown>
  if (names.jtiClaim === null) claims.jti = tokenHash(token)
  else if (names.jtiClaim !== 'jti') claims.jti = claims[names.jtiClaim]
  // Assigned, not deleted: one object shape for every token of the issuer.
  if (names.sessionClaim === null) claims.sid = undefined
  else if (names.sessionClaim !== 'sid') claims.sid = claims[names.sessionClaim]
  // Read once into the names the decision checks; undefined (not deleted) for an unbound token.
  claims.cnf = bindingOf(claims.cnf)
  ;(claims as { [ROLES]?: readonly string[] })[ROLES] = readRoles(claims, names.rolesClaim)
  if (names.grantsAdmin) (claims as { [GRANTS_ADMIN]?: true })[GRANTS_ADMIN] = true
  return payload
}

/**
 * Whether the token holds ADMIN_ROLE and came from an issuer that may grant it: a partner
 * identity provider's `admin` role is the partner's, not tokengate's.
 */
export function holdsAdminRole (claims: Claims, adminRole: string): boolean {
  return claims[GRANTS_ADMIN] === true && hasRole(claims, adminRole)
}

/**
 * The token's roles as read at verification. Claims that did not come from the
 * verifier have none: authority is never read from an unverified object.
 */
export function rolesOf (claims: Claims): readonly string[] {
  return claims[ROLES] ?? []
}

/**
 * Whether the token holds `role` in its role claims. Never its OAuth scopes: a
 * client chooses the scopes it requests (RFC 6749 §3.3), and another API's
 * `admin` scope is not an administrator role here.
 */
export function hasRole (claims: Claims, role: string): boolean {
  return rolesOf(claims).includes(role)
}
