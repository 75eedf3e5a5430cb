import { Failures, withDescription, type Failure } from '../errors.js'
import { mediaType } from '../tokens/header.js'
import { createSignedJwtVerifier, type SigningIssuer } from './signed-jwt.js'

/** Back-Channel Logout 1.0 §2.4: the member of `events` that makes a JWT a logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** An issuer that may send logout tokens, with what verifies them. */
export interface LogoutIssuer extends SigningIssuer {
  /** §2.6 step 4: the token's aud must contain one of these. */
  readonly clientIds: readonly string[]
  readonly relayUri: Readonly<URL> | null
  /** Whether its tokens name their session (its session_claim is not null): else a logout ends the user. */
  readonly sessions: boolean
}

export interface LogoutTokenRules {
  readonly clockToleranceS: number
  /** BACKCHANNEL_LOGOUT_MAX_AGE: an older iat is refused (its jti may have left the replay cache). */
  readonly maxAgeS: number
  readonly maxTokenBytes: number
  readonly now?: () => number
}

export interface LogoutClaims {
  readonly iss: string
  readonly jti: string
  readonly exp: number
  readonly sid: string | null
  readonly sub: string | null
}

export type LogoutVerdict =
  | { readonly ok: true, readonly issuer: LogoutIssuer, readonly claims: LogoutClaims }
  /** `issuer`: the configured issuer the token named (its refusal raises an alert), null for none. */
  | { readonly ok: false, readonly issuer: LogoutIssuer | null, readonly failure: Failure }

function refuse (issuer: LogoutIssuer | null, failure: Failure, description?: string): LogoutVerdict {
  return { ok: false, issuer, failure: description === undefined ? failure : withDescription(failure, description) }
}

function isObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function nonEmpty (value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}

/**
 * Validates a logout token as Back-Channel Logout 1.0 §2.6 asks, step by step, each step
 * refusing with its own registry entry (the answer is 400 in every case, §2.8). The replay
 * check (step 8) is the caller's: it needs the shared replay cache.
 */
export function createLogoutTokenVerifier (issuers: readonly LogoutIssuer[], rules: LogoutTokenRules): (token: string) => Promise<LogoutVerdict> {
  const verifySigned = createSignedJwtVerifier(issuers, rules.maxTokenBytes)
  const now = rules.now ?? Date.now

  function checkClaims (issuer: LogoutIssuer, payload: Record<string, unknown>, typ: string | null): LogoutVerdict {
    const nowS = now() / 1000
    const tolerance = rules.clockToleranceS
    // §2.6 step 4: iss, aud, iat and exp as for ID tokens (OIDC Core §3.1.3.7), exp required (§2.4).
    if (payload.iss !== issuer.issuer) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token\'s iss is not its issuer')
    const aud = payload.aud
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
    if (!audiences.some((value) => typeof value === 'string' && issuer.clientIds.includes(value))) {
      return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token\'s aud names none of the client ids configured for its issuer')
    }
    const { iat, exp } = payload
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token has no iat')
    if (iat > nowS + tolerance) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token was issued in the future (iat)')
    if (iat < nowS - rules.maxAgeS - tolerance) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token was issued too long ago (iat older than BACKCHANNEL_LOGOUT_MAX_AGE)')
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token has no exp')
    if (exp <= nowS - tolerance) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token has expired (exp)')
    // §2.4: jti REQUIRED; step 8 (replay) needs it.
    if (!nonEmpty(payload.jti)) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token has no jti')
    // §2.6 step 5: sub, sid, or both.
    const { sid, sub } = payload
    if (sid !== undefined && !nonEmpty(sid)) return refuse(issuer, Failures.LOGOUT_TOKEN_SUBJECT, 'The logout token\'s sid is not a string')
    if (sub !== undefined && !nonEmpty(sub)) return refuse(issuer, Failures.LOGOUT_TOKEN_SUBJECT, 'The logout token\'s sub is not a string')
    if (sid === undefined && sub === undefined) return refuse(issuer, Failures.LOGOUT_TOKEN_SUBJECT)
    // A session its tokens do not carry would be a revocation of nothing: only the user can be logged out then.
    if (!issuer.sessions && sub === undefined) return refuse(issuer, Failures.LOGOUT_TOKEN_SUBJECT, 'The logout token names only a session (sid), and this issuer\'s tokens carry none (session_claim: null)')
    // §2.6 step 6: events holds the back-channel logout member, a JSON object (§2.4).
    const events = payload.events
    if (!isObject(events) || !isObject(events[BACKCHANNEL_LOGOUT_EVENT])) return refuse(issuer, Failures.LOGOUT_TOKEN_EVENT)
    // §2.6 step 7: no nonce (a logout token is never an ID token, and the other way round).
    if (Object.hasOwn(payload, 'nonce')) return refuse(issuer, Failures.LOGOUT_TOKEN_NONCE)
    // §2.4 (explicit typing, RFC 8725 §3.11): when typ is present it must say logout+jwt.
    if (typ !== null && mediaType(typ) !== 'logout+jwt') return refuse(issuer, Failures.LOGOUT_TOKEN_TYP)
    return {
      ok: true,
      issuer,
      claims: { iss: issuer.issuer, jti: payload.jti, exp, sid: typeof sid === 'string' && issuer.sessions ? sid : null, sub: typeof sub === 'string' ? sub : null }
    }
  }

  return async (token) => {
    const signed = await verifySigned(token)
    if (!signed.ok) {
      const { issuer, problem } = signed
      switch (problem) {
        case 'too_large': return refuse(null, Failures.LOGOUT_TOKEN_MALFORMED, 'The logout token is larger than MAX_TOKEN_BYTES')
        // §2.6 step 1 allows encrypted logout tokens; tokengate holds no decryption key, so it refuses them plainly.
        case 'encrypted': return refuse(null, Failures.LOGOUT_TOKEN_MALFORMED, 'Encrypted logout tokens are not accepted; the provider must send a signed one')
        case 'malformed': return refuse(null, Failures.LOGOUT_TOKEN_MALFORMED)
        case 'issuer': return refuse(null, Failures.LOGOUT_TOKEN_ISSUER)
        // §2.6 steps 2-3: the issuer's keys, one of its ID-token algorithms; never none, never a MAC.
        case 'algorithm': return refuse(issuer, Failures.LOGOUT_TOKEN_SIGNATURE, 'The logout token\'s alg is not one of its issuer\'s ID-token algorithms')
        case 'key': return refuse(issuer, Failures.LOGOUT_TOKEN_SIGNATURE, 'The logout token names no published key of its issuer')
        case 'signature': return refuse(issuer, Failures.LOGOUT_TOKEN_SIGNATURE)
      }
    }
    return checkClaims(signed.issuer, signed.payload, signed.header.typ)
  }
}
