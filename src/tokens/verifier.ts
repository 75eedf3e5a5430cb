import { createPublicKey } from 'node:crypto'
import { afterIo, NeedsIo } from '../async/needs-io.js'
import type { JwtConfig } from './options.js'
import { Failures, isFailure, type Failure } from '../errors.js'
import { algorithmsForKey, isHmac } from './algorithms.js'
import { hasUsableClaims, isEventToken, NOT_ACCESS_TYP, withRoles, type Claims } from './claims.js'
import { isKeyMismatch } from './failures.js'
import { mediaType, mediaTypeOf, peekHeader, type TokenHeader } from './header.js'
import type { JwksKeySet } from './jwks.js'
import { AuthenticRefusal, buildKeyVerifier, type KeyVerdict, type KeyVerifier } from './key-verifier.js'
import { VerifiedTokenCache } from './verified-cache.js'

/**
 * `claims` on a refusal: the signature verified, so the refusal is the
 * subject's (the per-user failure alert counts it). Forged tokens carry none.
 */
export type VerifyResult =
  | { readonly ok: true, readonly claims: Claims }
  | { readonly ok: false, readonly failure: Failure, readonly claims?: Claims }

export interface TokenVerifier {
  /** At once, unless the token names a key that must be fetched first (see needs-io.ts). */
  verify: (token: string) => VerifyResult | NeedsIo<VerifyResult>
  /** A token verified before and still in the cache, else undefined: nothing is parsed or checked. */
  known: (token: string) => VerifyResult | undefined
  /** Verified tokens held in the cache (at most JWT_VERIFY_CACHE_SIZE). */
  cachedTokens: () => number
}

/**
 * An expired token counts against its subject only this long after its exp:
 * an app's parallel requests around expiry are routine, not an attack.
 */
export const EXPIRED_ATTRIBUTION_AFTER_S = 300

function staticVerifiers (jwt: JwtConfig): KeyVerifier[] {
  const hmac = jwt.algorithms.filter(isHmac)
  const out: KeyVerifier[] = []
  if (hmac.length > 0) {
    for (const secret of [jwt.secret, jwt.previousSecret]) {
      if (secret !== null) out.push(buildKeyVerifier(secret, hmac, null, jwt))
    }
  }
  for (const { pem, kid } of jwt.publicKeys) {
    const algorithms = algorithmsForKey(createPublicKey(pem)).filter((alg) => jwt.algorithms.includes(alg))
    out.push(buildKeyVerifier(pem, algorithms, kid, jwt))
  }
  return out
}

function attributable (refusal: AuthenticRefusal): Claims | undefined {
  const { failure, payload } = refusal
  if (!hasUsableClaims(payload)) return undefined
  if (failure === Failures.TOKEN_EXPIRED && payload.exp + EXPIRED_ATTRIBUTION_AFTER_S > Date.now() / 1000) return undefined
  return payload
}

/**
 * Tries candidate keys in order (current secret first) and stops at the first
 * verdict that is not a key mismatch: an expired token signed by a known key is
 * "expired", not "bad signature". Undefined when no candidate takes `alg`.
 */
function tryKeys (candidates: readonly KeyVerifier[], alg: string, token: string): KeyVerdict | undefined {
  let last: Failure | undefined
  for (const candidate of candidates) {
    if (!candidate.algorithms.includes(alg as never)) continue
    const result = candidate.verify(token)
    if (!isFailure(result) || !isKeyMismatch(result)) return result
    last = result
  }
  return last
}

export function createTokenVerifier (jwt: JwtConfig, jwks: JwksKeySet | null): TokenVerifier {
  const fixed = staticVerifiers(jwt)
  const cache = jwt.verifyCacheSize > 0 ? new VerifiedTokenCache(jwt.verifyCacheSize, jwt.clockToleranceS) : null
  const remember = (token: string, result: VerifyResult): VerifyResult => {
    if (result.ok) cache?.set(token, result.claims)
    return result
  }
  // With JWT_REQUIRED_TYP the header is read for every token (its typ), so no single-key shortcut.
  const single = fixed.length === 1 && jwks === null && jwt.requiredTyp === null ? fixed[0] : null
  const anyKid = fixed.some((v) => v.kid !== null) || jwks !== null

  function candidatesFor (kid: string | null, alg: string): readonly KeyVerifier[] {
    const named = kid !== null && anyKid ? fixed.filter((v) => v.kid === kid) : []
    const base = named.length > 0 ? named : fixed
    return jwks === null ? base : [...base, ...jwks.candidates(kid, alg)]
  }

  function settle (result: KeyVerdict | undefined, header: TokenHeader | null, token: string): VerifyResult {
    if (result === undefined) {
      const ambiguous = header !== null && header.kid === null && jwks !== null && jwks.matching(header.alg) > 1
      return { ok: false, failure: ambiguous ? Failures.TOKEN_KID_REQUIRED : Failures.TOKEN_KEY_UNKNOWN }
    }
    if (result instanceof AuthenticRefusal) {
      const claims = attributable(result)
      return claims === undefined ? { ok: false, failure: result.failure } : { ok: false, failure: result.failure, claims: withRoles(claims, jwt.rolesClaim) }
    }
    if (isFailure(result)) return { ok: false, failure: result }
    if (!hasUsableClaims(result)) return { ok: false, failure: Failures.TOKEN_CLAIMS }
    const typ = header === null ? mediaTypeOf(token) : header.typ === null ? null : mediaType(header.typ)
    if (isEventToken(result, typ)) return { ok: false, failure: Failures.TOKEN_EVENT }
    if (jwt.requiredTyp !== null && typ !== jwt.requiredTyp) (result as { [NOT_ACCESS_TYP]?: true })[NOT_ACCESS_TYP] = true
    return { ok: true, claims: withRoles(result, jwt.rolesClaim) }
  }

  function verifyAfterRefresh (token: string, header: TokenHeader): NeedsIo<VerifyResult> {
    return new NeedsIo(async () => {
      await jwks?.refresh()
      return settle(tryKeys(candidatesFor(header.kid, header.alg), header.alg, token), header, token)
    })
  }

  function verifyUncached (token: string): VerifyResult | NeedsIo<VerifyResult> {
    // The common case, one HMAC secret: fast-jwt reads the header itself.
    if (single !== null) return settle(single.verify(token), null, token)
    const header = peekHeader(token)
    if (header === null) return { ok: false, failure: Failures.TOKEN_MALFORMED }
    // Checked before any key is looked at: "none" and unlisted algorithms never reach a key, and a
    // token whose kid is unknown is reported as an unknown key, not as a refused algorithm.
    if (!(jwt.algorithms as readonly string[]).includes(header.alg)) return { ok: false, failure: Failures.TOKEN_ALGORITHM }
    // A JWKS never holds HMAC keys: an HS token's kid (a secret's version label) must not trigger fetches.
    if (jwks !== null && header.kid !== null && !isHmac(header.alg) && !jwks.hasKid(header.kid) &&
        !fixed.some((v) => v.kid === header.kid)) {
      return verifyAfterRefresh(token, header)
    }
    return settle(tryKeys(candidatesFor(header.kid, header.alg), header.alg, token), header, token)
  }

  if (cache === null) return { verify: verifyUncached, known: () => undefined, cachedTokens: () => 0 }
  let keyGeneration = jwks?.generation ?? 0
  const known = (token: string): VerifyResult | undefined => {
    // A key removed from the JWKS must not keep its tokens alive through the cache.
    if (jwks !== null && jwks.generation !== keyGeneration) {
      cache.clear()
      keyGeneration = jwks.generation
    }
    const claims = cache.get(token)
    return claims === undefined ? undefined : { ok: true, claims }
  }
  return {
    cachedTokens: () => cache.size,
    known,
    verify: (token) => known(token) ?? afterIo(verifyUncached(token), (result) => remember(token, result))
  }
}
