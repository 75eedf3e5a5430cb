import { createVerifier } from 'fast-jwt'
import type { Algorithm, JwtConfig } from '../config/types.js'
import { failureFromJwtError } from './failures.js'
import type { Failure } from '../errors.js'

/** One key, the algorithms it may verify, and a fast-jwt verifier built once for it. */
export interface KeyVerifier {
  readonly kid: string | null
  readonly algorithms: readonly Algorithm[]
  /** Returns the payload or the failure; never throws. */
  readonly verify: (token: string) => Record<string, unknown> | Failure
}

const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'jti']

export function buildKeyVerifier (key: string, algorithms: readonly Algorithm[], kid: string | null, jwt: JwtConfig): KeyVerifier {
  const verifier = createVerifier({
    key,
    algorithms: [...algorithms],
    requiredClaims: REQUIRED_CLAIMS,
    clockTolerance: jwt.clockToleranceS * 1000,
    ...(jwt.issuer !== null && { allowedIss: jwt.issuer }),
    ...(jwt.audience !== null && { allowedAud: jwt.audience }),
    // Caches signature verification only: revocation is checked on every request.
    cache: jwt.verifyCacheSize > 0 ? jwt.verifyCacheSize : false
  })
  return {
    kid,
    algorithms,
    verify (token) {
      try {
        return verifier(token)
      } catch (err) {
        return failureFromJwtError(err)
      }
    }
  }
}
