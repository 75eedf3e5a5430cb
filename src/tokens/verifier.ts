import { createPublicKey } from 'node:crypto'
import type { JwtConfig } from '../config/types.js'
import { Failures, isFailure, type Failure } from '../errors.js'
import { algorithmsForKey, isHmac } from './algorithms.js'
import { hasUsableClaims, withRoles, type Claims, type RolesClaim } from './claims.js'
import { isKeyMismatch } from './failures.js'
import { peekHeader } from './header.js'
import type { JwksKeySet } from './jwks.js'
import { buildKeyVerifier, type KeyVerifier } from './key-verifier.js'
import { VerifiedTokenCache } from './verified-cache.js'

export type VerifyResult =
  | { readonly ok: true, readonly claims: Claims }
  | { readonly ok: false, readonly failure: Failure }

export interface TokenVerifier {
  /** Synchronous for static keys; a promise only when a JWKS refresh is needed. */
  verify: (token: string) => VerifyResult | Promise<VerifyResult>
  /** Verified tokens held in the cache (at most JWT_VERIFY_CACHE_SIZE). */
  cachedTokens: () => number
}

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

function settle (result: Record<string, unknown> | Failure | undefined, rolesClaim: RolesClaim): VerifyResult {
  if (result === undefined) return { ok: false, failure: Failures.TOKEN_KEY_UNKNOWN }
  if (isFailure(result)) return { ok: false, failure: result }
  return hasUsableClaims(result) ? { ok: true, claims: withRoles(result, rolesClaim) } : { ok: false, failure: Failures.TOKEN_CLAIMS }
}

/**
 * Tries candidate keys in order (current secret first) and stops at the first
 * verdict that is not a key mismatch: an expired token signed by a known key is
 * "expired", not "bad signature".
 */
function tryKeys (candidates: readonly KeyVerifier[], alg: string, token: string): Record<string, unknown> | Failure | undefined {
  let last: Failure | undefined
  for (const candidate of candidates) {
    if (!candidate.algorithms.includes(alg as never)) {
      last ??= Failures.TOKEN_ALGORITHM
      continue
    }
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
  const single = fixed.length === 1 && jwks === null ? fixed[0] : null
  const anyKid = fixed.some((v) => v.kid !== null) || jwks !== null

  function candidatesFor (kid: string | null): readonly KeyVerifier[] {
    const named = kid !== null && anyKid ? fixed.filter((v) => v.kid === kid) : []
    const base = named.length > 0 ? named : fixed
    return jwks === null ? base : [...base, ...jwks.candidates(kid)]
  }

  async function verifyAfterRefresh (token: string, alg: string, kid: string): Promise<VerifyResult> {
    await jwks?.refresh()
    return settle(tryKeys(candidatesFor(kid), alg, token), jwt.rolesClaim)
  }

  function verifyUncached (token: string): VerifyResult | Promise<VerifyResult> {
    // The common case, one HMAC secret: fast-jwt reads the header itself.
    if (single !== null) return settle(single.verify(token), jwt.rolesClaim)
    const header = peekHeader(token)
    if (header === null) return { ok: false, failure: Failures.TOKEN_MALFORMED }
    if (header.alg.toLowerCase() === 'none') return { ok: false, failure: Failures.TOKEN_ALGORITHM }
    // A JWKS never holds HMAC keys: an HS token's kid (a secret's version label) must not trigger fetches.
    if (jwks !== null && header.kid !== null && !isHmac(header.alg) && !jwks.hasKid(header.kid) &&
        !fixed.some((v) => v.kid === header.kid)) {
      return verifyAfterRefresh(token, header.alg, header.kid)
    }
    return settle(tryKeys(candidatesFor(header.kid), header.alg, token), jwt.rolesClaim)
  }

  if (cache === null) return { verify: verifyUncached, cachedTokens: () => 0 }
  let keyGeneration = jwks?.generation ?? 0
  return {
    cachedTokens: () => cache.size,
    verify (token) {
      // A key removed from the JWKS must not keep its tokens alive through the cache.
      if (jwks !== null && jwks.generation !== keyGeneration) {
        cache.clear()
        keyGeneration = jwks.generation
      }
      const claims = cache.get(token)
      if (claims !== undefined) return { ok: true, claims }
      const result = verifyUncached(token)
      if (result instanceof Promise) return result.then((settled) => remember(token, settled))
      return remember(token, result)
    }
  }
}
