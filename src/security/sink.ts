/** One security operation, as it goes into the audit trail. jti values are cut to 8 characters by the sink. */
export interface AuditEntry {
  readonly event_type: string
  readonly user_id?: string | null
  /** The issuer of user_id and jti: with several issuers a subject is unique only within its issuer. */
  readonly iss?: string | null
  readonly jti?: string | null
  /** A session named by an identity provider's revocation (cut to 8 characters by the sink, as jti). */
  readonly sid?: string | null
  readonly reason?: string | null
  readonly ip?: string | null
  readonly actor?: string | null
  readonly request_id?: string | null
}

/**
 * A verified token as the monitor keys it: verified claims satisfy this as
 * they are. A subject is unique only within its issuer, and so is a token id:
 * the monitor counts, lists and alerts per (iss, sub) and (iss, jti).
 */
export interface TokenRef {
  /** The token's `iss`; absent for a token without one (keyed as ''). */
  readonly iss?: string
  readonly sub: string
  readonly jti: string
  /** The session id, when the token names one (its session mark's id, else its jti: sessionOf). */
  readonly sid?: string
}

/**
 * Who asked: a FastifyRequest satisfies this as it is, so the hot path passes
 * the request itself and `ip` (proxy-addr work) is computed only if read.
 */
export interface RequestFacts {
  readonly ip: string
  readonly id: string
}

/**
 * Where routes report what happened. The hot-path calls (allowed, denied) must
 * stay cheap and never block: implementations count locally and flush later.
 */
export interface SecuritySink {
  audit: (entry: AuditEntry) => void
  /** A token passed verification and revocation. */
  allowed: (token: TokenRef, facts: RequestFacts) => void
  /** A token was refused; `token` only when its signature was valid. */
  denied: (reason: string, token: TokenRef | undefined, facts: RequestFacts) => void
  /** A token pair was issued for the subject of `token`, the refresh token it replaced. */
  tokenIssued: (token: TokenRef, facts: RequestFacts) => void
  /** A revoked refresh token (`token`, of session `sid`) was presented again: the session has been revoked. */
  refreshReuse: (token: TokenRef, sid: string, facts: RequestFacts) => void
  close: () => Promise<void>
}

export function cutJti (jti: string | null | undefined): string | null {
  return jti === null || jti === undefined ? null : jti.slice(0, 8)
}

/**
 * The key of an (issuer, value) pair in the monitor's windows, lists and
 * dedup marks: JSON, so that no issuer and value can spell another pair.
 */
export function issuerKey (iss: string | undefined, value: string): string {
  return JSON.stringify([iss ?? '', value])
}
