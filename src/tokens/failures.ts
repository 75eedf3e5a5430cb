import { Failures, type Failure } from '../errors.js'

const BY_FAST_JWT_CODE: ReadonlyMap<string, Failure> = new Map([
  ['FAST_JWT_INVALID_SIGNATURE', Failures.TOKEN_SIGNATURE],
  ['FAST_JWT_VERIFY_ERROR', Failures.TOKEN_SIGNATURE],
  ['FAST_JWT_MISSING_SIGNATURE', Failures.TOKEN_SIGNATURE],
  ['FAST_JWT_INVALID_ALGORITHM', Failures.TOKEN_ALGORITHM],
  ['FAST_JWT_EXPIRED', Failures.TOKEN_EXPIRED],
  ['FAST_JWT_INACTIVE', Failures.TOKEN_NOT_YET_VALID],
  ['FAST_JWT_MISSING_REQUIRED_CLAIM', Failures.TOKEN_CLAIMS],
  ['FAST_JWT_INVALID_CLAIM_VALUE', Failures.TOKEN_CLAIMS],
  ['FAST_JWT_INVALID_CLAIM_TYPE', Failures.TOKEN_CLAIMS],
  ['FAST_JWT_INVALID_CRIT_HEADER', Failures.TOKEN_CLAIMS],
  ['FAST_JWT_KEY_FETCHING_ERROR', Failures.TOKEN_KEY_UNKNOWN]
])

/** Maps a fast-jwt error to our failure; anything unknown counts as malformed. */
export function failureFromJwtError (err: unknown): Failure {
  const code = (err as { code?: unknown } | null)?.code
  return (typeof code === 'string' ? BY_FAST_JWT_CODE.get(code) : undefined) ?? Failures.TOKEN_MALFORMED
}

/**
 * fast-jwt checks the signature before crit and the claims: a token
 * refused for one of these was signed by the key that refused it.
 */
const AFTER_SIGNATURE: ReadonlySet<string> = new Set([
  'FAST_JWT_EXPIRED', 'FAST_JWT_INACTIVE', 'FAST_JWT_MISSING_REQUIRED_CLAIM', 'FAST_JWT_INVALID_CLAIM_VALUE',
  'FAST_JWT_INVALID_CLAIM_TYPE', 'FAST_JWT_INVALID_CRIT_HEADER'
])

export function refusedAfterSignature (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && AFTER_SIGNATURE.has(code)
}

/** Failures after which another candidate key may still verify the token. */
export function isKeyMismatch (failure: Failure): boolean {
  return failure === Failures.TOKEN_SIGNATURE || failure === Failures.TOKEN_ALGORITHM
}
