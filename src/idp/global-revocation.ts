import { Failures, withDescription, type Failure } from '../errors.js'
import { createSignedJwtVerifier, type SigningIssuer } from './signed-jwt.js'

/** An issuer that may send Global Token Revocation requests, with what verifies and scopes them. */
export interface RevocationCaller extends SigningIssuer {
  /** The aud its requests' bearer JWTs must carry. */
  readonly audience: string
  /** The issuers whose users it may revoke. */
  readonly revokes: readonly string[]
  /** Tokens of those issuers carry the user's email as sub. */
  readonly emailIsSubject: boolean
}

export interface RevocationRequestRules {
  readonly clockToleranceS: number
  /** An older iat is refused (its jti may have left the replay cache). */
  readonly maxAgeS: number
  readonly maxTokenBytes: number
  readonly now?: () => number
}

export type CallerVerdict =
  | { readonly ok: true, readonly caller: RevocationCaller, readonly jti: string, readonly exp: number }
  /** `caller`: the configured issuer the JWT named (a refusal in its name), null for none. */
  | { readonly ok: false, readonly caller: RevocationCaller | null, readonly failure: Failure }

/** One user to revoke: a subject of one issuer. */
export interface RevocationTarget { readonly issuer: string, readonly sub: string }

export type SubjectVerdict =
  | { readonly ok: true, readonly targets: readonly RevocationTarget[], readonly format: string }
  | { readonly ok: false, readonly failure: Failure }

const unauthenticated = (caller: RevocationCaller | null, description: string): CallerVerdict =>
  ({ ok: false, caller, failure: withDescription(Failures.REVOCATION_REQUEST_UNAUTHENTICATED, description) })

function nonEmpty (value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}

/**
 * The caller of a Global Token Revocation request, from its bearer JWT (draft -06 §3.5: the
 * private_key_jwt shape, signed with the keys the identity provider signs its ID tokens with):
 * `iss` a configured caller, `aud` its dedicated audience, `exp` not passed, `iat` recent, a `jti`
 * (claimed once by the route in the shared replay cache). An access token of the API is refused
 * by its audience, which configuration keeps apart from every access-token audience.
 */
export function createRevocationCallerVerifier (callers: readonly RevocationCaller[], rules: RevocationRequestRules): (token: string) => Promise<CallerVerdict> {
  const verifySigned = createSignedJwtVerifier(callers, rules.maxTokenBytes)
  const now = rules.now ?? Date.now
  return async (token) => {
    const signed = await verifySigned(token)
    if (!signed.ok) {
      const why = signed.problem === 'issuer' ? 'it names no issuer configured for global token revocation' : `its ${signed.problem === 'algorithm' ? 'alg' : signed.problem === 'key' ? 'kid' : signed.problem === 'signature' ? 'signature' : 'form'} is not accepted`
      return unauthenticated(signed.issuer, `The revocation request's bearer JWT is refused: ${why}`)
    }
    const { issuer: caller, payload } = signed
    const nowS = now() / 1000
    const tolerance = rules.clockToleranceS
    const aud = payload.aud
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
    if (!audiences.includes(caller.audience)) return unauthenticated(caller, 'The revocation request\'s bearer JWT is not for this endpoint (aud)')
    const { iat, exp, jti } = payload
    if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= nowS - tolerance) return unauthenticated(caller, 'The revocation request\'s bearer JWT has no exp, or has expired')
    if (typeof iat !== 'number' || !Number.isFinite(iat) || iat > nowS + tolerance || iat < nowS - rules.maxAgeS - tolerance) {
      return unauthenticated(caller, 'The revocation request\'s bearer JWT has no iat, or one in the future or too long ago')
    }
    if (!nonEmpty(jti)) return unauthenticated(caller, 'The revocation request\'s bearer JWT has no jti')
    return { ok: true, caller, jti, exp }
  }
}

/**
 * The users a request's `sub_id` (RFC 9493) names, as this caller may revoke them: `iss_sub`
 * (§3.2.3) of an issuer it revokes for; `email` (§3.2.2) only where those issuers' tokens carry
 * the email as their sub. Anything else cannot be mapped to a token's subject and is refused,
 * never accepted as a revocation of nobody.
 */
export function subjectTargets (caller: RevocationCaller, body: unknown): SubjectVerdict {
  const subId = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).sub_id : undefined
  if (subId === null || typeof subId !== 'object' || Array.isArray(subId)) return { ok: false, failure: Failures.REVOCATION_SUBJECT_INVALID }
  const { format, iss, sub, email } = subId as Record<string, unknown>
  if (!nonEmpty(format)) return { ok: false, failure: Failures.REVOCATION_SUBJECT_INVALID }
  if (format === 'iss_sub') {
    if (!nonEmpty(iss) || !nonEmpty(sub)) return { ok: false, failure: withDescription(Failures.REVOCATION_SUBJECT_INVALID, 'An iss_sub subject identifier needs iss and sub (RFC 9493 §3.2.3)') }
    if (!caller.revokes.includes(iss)) return { ok: false, failure: Failures.REVOCATION_SUBJECT_FORBIDDEN }
    return { ok: true, format, targets: [{ issuer: iss, sub }] }
  }
  if (format === 'email') {
    if (!nonEmpty(email) || !email.includes('@')) return { ok: false, failure: withDescription(Failures.REVOCATION_SUBJECT_INVALID, 'An email subject identifier needs an email address (RFC 9493 §3.2.2)') }
    if (!caller.emailIsSubject) return { ok: false, failure: Failures.REVOCATION_SUBJECT_UNSUPPORTED }
    return { ok: true, format, targets: caller.revokes.map((issuer) => ({ issuer, sub: email })) }
  }
  return { ok: false, failure: Failures.REVOCATION_SUBJECT_UNSUPPORTED }
}
