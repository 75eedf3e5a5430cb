import { afterIo, NeedsIo } from '../async/needs-io.js'
import { Failures, isFailure, type Failure } from '../errors.js'
import type { CheckOutcome, RevocationChecker } from '../revocation/checker.js'
import type { MarkKind } from '../revocation/store.js'
import type { Claims } from '../tokens/claims.js'
import { isRefreshToken, NOT_ACCESS_TYP, sessionOf } from '../tokens/claims.js'
import type { TokenVerifier, VerifyResult } from '../tokens/verifier.js'
import { bearerToken } from './bearer.js'

export type TokenUse = 'access' | 'refresh'

const BEARER_PREFIX = 'Bearer '
const DPOP_PREFIX = 'DPoP '

/** Where a revocation answer came from: the replica's state, a store lookup, or FAIL_MODE when neither could say. */
export type RevocationSource = 'state' | 'store' | 'fail_mode'

/** `cached`: the token was found in the verified cache; `revocation`: see RevocationSource (both for traces). */
export type AuthResult =
  | { readonly ok: true, readonly claims: Claims, readonly token: string, readonly outcome: CheckOutcome, readonly cached?: boolean, readonly revocation?: RevocationSource }
  /**
   * `claims` is set when the signature was valid but the token was refused
   * (revoked, wrong type); `mark` says which revocation mark matched.
   */
  | { readonly ok: false, readonly failure: Failure, readonly claims?: Claims, readonly mark?: MarkKind, readonly cached?: boolean, readonly revocation?: RevocationSource }

/** Each answers at once unless a key must be fetched or the revocation store asked (see needs-io.ts). */
export interface Authenticator {
  /** From an Authorization header value. */
  fromHeader: (header: string | undefined, use?: TokenUse) => AuthResult | NeedsIo<AuthResult>
  /** From a raw token (request bodies: refresh_token, token). */
  fromToken: (token: string, use?: TokenUse) => AuthResult | NeedsIo<AuthResult>
  /** Signature and claims only, any token type, no revocation check (tokens named in request bodies). */
  verifyOnly: (token: string) => VerifyResult | NeedsIo<VerifyResult>
  /** Verified tokens held in the verifier's cache. */
  cachedTokens: () => number
}

/**
 * Signature and claims first, then revocation: the revocation check is never
 * skipped because a token verified before.
 */
export function createAuthenticator (verifier: TokenVerifier, checker: RevocationChecker, maxTokenBytes: number, dpop = false): Authenticator {
  function outcomeResult (outcome: CheckOutcome, claims: Claims, token: string, cached: boolean, asked: boolean): AuthResult {
    const revocation = outcome === 'degraded' || outcome === 'unavailable' ? 'fail_mode' : asked ? 'store' : 'state'
    if (outcome === 'ok' || outcome === 'degraded') return { ok: true, claims, token, outcome, cached, revocation }
    if (outcome === 'unavailable') return { ok: false, failure: Failures.STORE_UNAVAILABLE, claims, cached, revocation }
    return { ok: false, failure: Failures.TOKEN_REVOKED, claims, mark: outcome, cached, revocation }
  }

  function afterVerify (verified: VerifyResult, token: string, use: TokenUse, cached: boolean): AuthResult | NeedsIo<AuthResult> {
    if (!verified.ok) return verified
    const { claims } = verified
    if (isRefreshToken(claims) !== (use === 'refresh')) {
      return { ok: false, failure: use === 'refresh' ? Failures.TOKEN_NOT_REFRESH : Failures.TOKEN_WRONG_TYPE, claims }
    }
    // RFC 9068 §4: with JWT_REQUIRED_TYP, an ID token (typ JWT) is no access token.
    if (use === 'access' && claims[NOT_ACCESS_TYP] === true) return { ok: false, failure: Failures.TOKEN_TYP, claims }
    const outcome = checker.check({ iss: claims.iss ?? '', jti: claims.jti, sid: sessionOf(claims), sub: claims.sub, iat: claims.iat })
    if (outcome instanceof NeedsIo) return afterIo(outcome, (known) => outcomeResult(known, claims, token, cached, true))
    return outcomeResult(outcome, claims, token, cached, false)
  }

  function fromToken (token: string, use: TokenUse = 'access'): AuthResult | NeedsIo<AuthResult> {
    if (token.length > maxTokenBytes) return { ok: false, failure: Failures.TOKEN_TOO_LARGE }
    return afterIo(verifier.verify(token), (verified) => afterVerify(verified, token, use, false))
  }

  function verifyOnly (token: string): VerifyResult | NeedsIo<VerifyResult> {
    if (token.length > maxTokenBytes) return { ok: false, failure: Failures.TOKEN_TOO_LARGE }
    return verifier.verify(token)
  }

  return {
    fromToken,
    verifyOnly,
    cachedTokens: verifier.cachedTokens,
    fromHeader (header, use = 'access') {
      // A verified token is base64url segments and dots (fast-jwt refuses anything else), which
      // the header's grammar accepts: the usual spelling is looked up in the cache before the
      // regular expression scans the token (docs/performance.md, "The warm path and the token's length").
      if (header !== undefined) {
        // DPoP: the scheme only; its proof is checked on every request after this (authorize.ts).
        const prefix = header.startsWith(BEARER_PREFIX) ? BEARER_PREFIX.length : dpop && header.startsWith(DPOP_PREFIX) ? DPOP_PREFIX.length : 0
        if (prefix !== 0) {
          const token = header.slice(prefix)
          const known = verifier.known(token)
          if (known !== undefined) return afterVerify(known, token, use, true)
        }
      }
      const token = bearerToken(header, maxTokenBytes, dpop)
      return isFailure(token) ? { ok: false, failure: token } : fromToken(token, use)
    }
  }
}
