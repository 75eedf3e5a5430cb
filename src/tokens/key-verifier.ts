import { createVerifier } from 'fast-jwt'
import type { Algorithm } from './algorithms.js'
import type { IssuerConfig, JwtConfig } from './options.js'
import { failureFromJwtError, refusedAfterSignature } from './failures.js'
import { Failures, type Failure } from '../errors.js'
import { peekHeader } from './header.js'
import { fromIssuer } from './claims.js'

/**
 * A token refused although its signature verified (expired, wrong audience,
 * issued in the future): the payload is authentic, so the refusal can be
 * attributed to its subject.
 */
export class AuthenticRefusal {
  readonly failure: Failure
  readonly payload: Record<string, unknown>

  constructor (failure: Failure, payload: Record<string, unknown>) {
    this.failure = failure
    this.payload = payload
  }
}

export type KeyVerdict = Record<string, unknown> | Failure | AuthenticRefusal

/** One key, the algorithms it may verify, and a fast-jwt verifier built once for it. */
export interface KeyVerifier {
  readonly kid: string | null
  readonly algorithms: readonly Algorithm[]
  /** Returns the payload or the refusal; never throws. */
  readonly verify: (token: string) => KeyVerdict
}

const REQUIRED_CLAIMS = ['sub', 'exp', 'iat']

// fast-jwt checks iss/aud only when the token carries them: a configured value makes them required.
function requiredClaims ({ jtiClaim, issuer, audiences }: IssuerConfig): string[] {
  return [...REQUIRED_CLAIMS, ...(jtiClaim !== null ? [jtiClaim] : []), ...(issuer !== null ? ['iss'] : []), ...(audiences.length > 0 ? ['aud'] : [])]
}

// fast-jwt does not look at iat; a token issued in the future would escape "revoked before T" marks.
function issuedInFuture (payload: Record<string, unknown>, toleranceS: number): boolean {
  return typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + toleranceS
}

/**
 * Every mark whose token's exp is unknown (session, user, global) lives from
 * JWT_MAX_TOKEN_LIFETIME (see revocation/mark-lifetime.ts): a token living longer would pass
 * again once the mark that revoked it expired. `exp - now` is checked too, so the rule holds
 * whatever iat says, and no accepted exp reaches 2^32 (the 32-bit expiries of the state).
 * Written so that a non-number refuses.
 */
function livesTooLong (payload: Record<string, unknown>, jwt: JwtConfig): boolean {
  const { exp, iat } = payload as { exp: number, iat: number }
  return !(exp - iat <= jwt.maxTokenLifetimeS && exp - Date.now() / 1000 <= jwt.maxTokenLifetimeS + jwt.clockToleranceS)
}

/** The payload of a token whose signature fast-jwt already verified; null when it is not a JSON object. */
function payloadOf (token: string): Record<string, unknown> | null {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.', 3)[1] ?? '', 'base64url').toString('utf8'))
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? payload as Record<string, unknown> : null
  } catch {
    return null
  }
}

/**
 * A verifier of one key of `entry`, the issuer it belongs to: its tokens must name that issuer
 * exactly (RFC 7519 §4.1.1) and one of its audiences, so a key never verifies another issuer's
 * tokens, whatever their kid (RFC 8725 §3.8, §3.10). Their payload comes back in the names
 * tokengate reads (claims.ts fromIssuer), from the claim names of `entry`.
 */
export function buildKeyVerifier (key: string, algorithms: readonly Algorithm[], kid: string | null, jwt: JwtConfig, entry: IssuerConfig): KeyVerifier {
  // fast-jwt verifies `Ed25519` as EdDSA, but accepts a key only alongside a name of its own family:
  // a key bound to Ed25519 alone is built with EdDSA too, and EdDSA tokens are refused before fast-jwt.
  const ed25519Only = algorithms.includes('Ed25519') && !algorithms.includes('EdDSA')
  const verifier = createVerifier({
    key,
    // fast-jwt's types predate RFC 9864 (algorithmsForKey binds Ed25519 to Ed25519 keys only).
    algorithms: [...algorithms, ...(ed25519Only ? ['EdDSA' as const] : [])] as Array<Exclude<Algorithm, 'Ed25519'>>,
    requiredClaims: requiredClaims(entry),
    clockTolerance: jwt.clockToleranceS * 1000,
    ...(entry.issuer !== null && { allowedIss: entry.issuer }),
    ...(entry.audiences.length > 0 && { allowedAud: entry.audiences.length === 1 ? entry.audiences[0] : [...entry.audiences] }),
    // Verified tokens are cached once, in front of every key (see verified-cache.ts).
    cache: false
  })
  return {
    kid,
    algorithms,
    verify (token) {
      if (ed25519Only && peekHeader(token)?.alg !== 'Ed25519') return Failures.TOKEN_ALGORITHM
      // A refused token is an expected answer, not a bug: fast-jwt's TokenError would capture a
      // stack for each one (a fifth of the CPU of a flood of garbage tokens). Synchronous, so no
      // other code runs while the limit is 0.
      const stackLimit = Error.stackTraceLimit
      Error.stackTraceLimit = 0
      try {
        const payload = fromIssuer<Record<string, unknown>>(verifier(token), entry, token)
        if (issuedInFuture(payload, jwt.clockToleranceS)) return new AuthenticRefusal(Failures.TOKEN_NOT_YET_VALID, payload)
        return livesTooLong(payload, jwt) ? new AuthenticRefusal(Failures.TOKEN_LIFETIME, payload) : payload
      } catch (err) {
        const failure = failureFromJwtError(err)
        const payload = refusedAfterSignature(err) ? payloadOf(token) : null
        return payload === null ? failure : new AuthenticRefusal(failure, fromIssuer(payload, entry, token))
      } finally {
        Error.stackTraceLimit = stackLimit
      }
    }
  }
}
