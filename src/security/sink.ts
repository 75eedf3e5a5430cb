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
 * Who asked: a FastifyRequest satisfies this as it is, so the hot path passes
 * the request itself and `ip` (proxy-addr work) is computed only if read.
 */
/** The claims a refusal names: the verified token's subject and id. */
export interface RefusedToken {
  readonly sub: string
  readonly jti: string
}

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
  allowed: (sub: string, jti: string, facts: RequestFacts) => void
  /** A token was refused; `token` (its subject and jti) only when its signature was valid. */
  denied: (reason: string, token: RefusedToken | undefined, facts: RequestFacts) => void
  /** A token pair was issued to `sub` (refresh). */
  tokenIssued: (sub: string, facts: RequestFacts) => void
  /** A revoked refresh token was presented again: the session has been revoked. */
  refreshReuse: (sub: string, sid: string, jti: string, facts: RequestFacts) => void
  close: () => Promise<void>
}

export function cutJti (jti: string | null | undefined): string | null {
  return jti === null || jti === undefined ? null : jti.slice(0, 8)
}
