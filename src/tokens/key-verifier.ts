import { createVerifier } from 'fast-jwt'
import type { Algorithm, JwtConfig } from '../config/types.js'
import { failureFromJwtError } from './failures.js'
import { Failures, type Failure } from '../errors.js'

/** One key, the algorithms it may verify, and a fast-jwt verifier built once for it. */
export interface KeyVerifier {
  readonly kid: string | null
  readonly algorithms: readonly Algorithm[]
  /** Returns the payload or the failure; never throws. */
  readonly verify: (token: string) => Record<string, unknown> | Failure
}

const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'jti']

// fast-jwt checks iss/aud only when the token carries them: a configured value makes them required.
function requiredClaims (jwt: JwtConfig): string[] {
  return [...REQUIRED_CLAIMS, ...(jwt.issuer !== null ? ['iss'] : []), ...(jwt.audience !== null ? ['aud'] : [])]
}

// fast-jwt does not look at iat; a token issued in the future would escape "revoked before T" marks.
function issuedInFuture (payload: Record<string, unknown>, toleranceS: number): boolean {
  return typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + toleranceS
}

export function buildKeyVerifier (key: string, algorithms: readonly Algorithm[], kid: string | null, jwt: JwtConfig): KeyVerifier {
  const verifier = createVerifier({
    key,
    algorithms: [...algorithms],
    requiredClaims: requiredClaims(jwt),
    clockTolerance: jwt.clockToleranceS * 1000,
    ...(jwt.issuer !== null && { allowedIss: jwt.issuer }),
    ...(jwt.audience !== null && { allowedAud: jwt.audience }),
    // Verified tokens are cached once, in front of every key (see verified-cache.ts).
    cache: false
  })
  return {
    kid,
    algorithms,
    verify (token) {
      // A refused token is an expected answer, not a bug: fast-jwt's TokenError would capture a
      // stack for each one (a fifth of the CPU of a flood of garbage tokens). Synchronous, so no
      // other code runs while the limit is 0.
      const stackLimit = Error.stackTraceLimit
      Error.stackTraceLimit = 0
      try {
        const payload: Record<string, unknown> = verifier(token)
        return issuedInFuture(payload, jwt.clockToleranceS) ? Failures.TOKEN_NOT_YET_VALID : payload
      } catch (err) {
        return failureFromJwtError(err)
      } finally {
        Error.stackTraceLimit = stackLimit
      }
    }
  }
}
