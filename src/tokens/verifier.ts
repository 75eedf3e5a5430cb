import { createPublicKey } from 'node:crypto'
import { afterIo, NeedsIo } from '../async/needs-io.js'
import type { IssuerConfig, JwtConfig } from './options.js'
import { Failures, isFailure, type Failure } from '../errors.js'
import { algorithmsForKey, isHmac } from './algorithms.js'
import { hasUsableClaims, isEventToken, NOT_ACCESS_TYP, type Claims } from './claims.js'
import { isKeyMismatch } from './failures.js'
import { mediaType, mediaTypeOf, peekHeader, peekIssuer, type TokenHeader } from './header.js'
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

/**
 * tokengate's own keys (JWT_SECRET, JWT_PREVIOUS_SECRET, JWT_PUBLIC_KEYS): they verify the first
 * issuer's tokens. What tokengate mints names its id `jti` and its session `sid` (issuer.ts),
 * whatever the claim names of the identity provider's tokens.
 */
function staticVerifiers (jwt: JwtConfig, first: IssuerConfig): KeyVerifier[] {
  const entry: IssuerConfig = { ...first, jtiClaim: 'jti', sessionClaim: 'sid' }
  const hmac = jwt.algorithms.filter(isHmac)
  const out: KeyVerifier[] = []
  if (hmac.length > 0) {
    for (const secret of [jwt.secret, jwt.previousSecret]) {
      if (secret !== null) out.push(buildKeyVerifier(secret, hmac, null, jwt, entry))
    }
  }
  for (const { pem, kid } of jwt.publicKeys) {
    const algorithms = algorithmsForKey(createPublicKey(pem)).filter((alg) => jwt.algorithms.includes(alg))
    out.push(buildKeyVerifier(pem, algorithms, kid, jwt, entry))
  }
  return out
}

/** One trusted issuer: the keys that verify its tokens, and nobody else's. */
interface IssuerKeys {
  readonly entry: IssuerConfig
  readonly fixed: readonly KeyVerifier[]
  readonly jwks: JwksKeySet | null
  /** The header algs its keys may verify: its own, and its static keys'. */
  readonly algorithms: readonly string[]
  readonly anyKid: boolean
}

function issuerKeys (entry: IssuerConfig, fixed: readonly KeyVerifier[], jwks: JwksKeySet | null): IssuerKeys {
  return {
    entry,
    fixed,
    jwks,
    algorithms: [...new Set([...entry.algorithms, ...fixed.flatMap((v) => v.algorithms)])],
    anyKid: fixed.some((v) => v.kid !== null) || jwks !== null
  }
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

/**
 * `jwks`: each issuer's key set, in the order of jwt.issuers (null where it has none). With one
 * issuer its keys verify every token, as before JWT_ISSUERS (a token without iss passes when
 * JWT_ISSUER is unset). With several, the unverified `iss` chooses the issuer and only its keys
 * are tried, each requiring that iss: a token naming no listed issuer is refused before any key.
 */
export function createTokenVerifier (jwt: JwtConfig, jwks: ReadonlyArray<JwksKeySet | null> | null): TokenVerifier {
  const issuers = jwt.issuers.map((entry, index) => issuerKeys(entry, index === 0 ? staticVerifiers(jwt, entry) : [], jwks?.[index] ?? null))
  const only = issuers.length === 1 ? issuers[0] : null
  const byIss = new Map(issuers.map((keys) => [keys.entry.issuer, keys]))
  const keySets = issuers.flatMap(({ jwks }) => jwks === null ? [] : [jwks])
  const cache = jwt.verifyCacheSize > 0 ? new VerifiedTokenCache(jwt.verifyCacheSize, jwt.clockToleranceS) : null
  const remember = (token: string, result: VerifyResult): VerifyResult => {
    if (result.ok) cache?.set(token, result.claims)
    return result
  }
  // With JWT_REQUIRED_TYP the header is read for every token (its typ), so no single-key shortcut.
  const single = only !== null && only.fixed.length === 1 && only.jwks === null && jwt.requiredTyp === null ? only.fixed[0] : null

  function candidatesFor ({ fixed, jwks, anyKid }: IssuerKeys, kid: string | null, alg: string): readonly KeyVerifier[] {
    const named = kid !== null && anyKid ? fixed.filter((v) => v.kid === kid) : []
    const base = named.length > 0 ? named : fixed
    return jwks === null ? base : [...base, ...jwks.candidates(kid, alg)]
  }

  function settle (result: KeyVerdict | undefined, header: TokenHeader | null, token: string, jwks: JwksKeySet | null): VerifyResult {
    if (result === undefined) {
      const ambiguous = header !== null && header.kid === null && jwks !== null && jwks.matching(header.alg) > 1
      return { ok: false, failure: ambiguous ? Failures.TOKEN_KID_REQUIRED : Failures.TOKEN_KEY_UNKNOWN }
    }
    if (result instanceof AuthenticRefusal) {
      const claims = attributable(result)
      return claims === undefined ? { ok: false, failure: result.failure } : { ok: false, failure: result.failure, claims }
    }
    if (isFailure(result)) return { ok: false, failure: result }
    // Already in tokengate's names: the key verifier read its issuer's (claims.ts fromIssuer).
    if (!hasUsableClaims(result)) return { ok: false, failure: Failures.TOKEN_CLAIMS }
    const typ = header === null ? mediaTypeOf(token) : header.typ === null ? null : mediaType(header.typ)
    if (isEventToken(result, typ)) return { ok: false, failure: Failures.TOKEN_EVENT }
    if (jwt.requiredTyp !== null && typ !== jwt.requiredTyp) (result as { [NOT_ACCESS_TYP]?: true })[NOT_ACCESS_TYP] = true
    return { ok: true, claims: result }
  }

  function verifyAfterRefresh (token: string, header: TokenHeader, keys: IssuerKeys): NeedsIo<VerifyResult> {
    return new NeedsIo(async () => {
      await keys.jwks?.refresh()
      return settle(tryKeys(candidatesFor(keys, header.kid, header.alg), header.alg, token), header, token, keys.jwks)
    })
  }

  function verifyUncached (token: string): VerifyResult | NeedsIo<VerifyResult> {
    // The common case, one HMAC secret: fast-jwt reads the header itself.
    if (single !== null) return settle(single.verify(token), null, token, null)
    const header = peekHeader(token)
    if (header === null) return { ok: false, failure: Failures.TOKEN_MALFORMED }
    let keys = only
    if (keys === null) {
      const iss = peekIssuer(token)
      if (iss === undefined) return { ok: false, failure: Failures.TOKEN_MALFORMED }
      keys = (iss === null ? undefined : byIss.get(iss)) ?? null
      if (keys === null) return { ok: false, failure: Failures.TOKEN_ISSUER }
    }
    // Checked before any key is looked at: "none" and unlisted algorithms never reach a key, and a
    // token whose kid is unknown is reported as an unknown key, not as a refused algorithm.
    if (!keys.algorithms.includes(header.alg)) return { ok: false, failure: Failures.TOKEN_ALGORITHM }
    // A JWKS never holds HMAC keys: an HS token's kid (a secret's version label) must not trigger fetches.
    const { jwks: keySet, fixed } = keys
    if (keySet !== null && header.kid !== null && !isHmac(header.alg) && !keySet.hasKid(header.kid) &&
        !fixed.some((v) => v.kid === header.kid)) {
      return verifyAfterRefresh(token, header, keys)
    }
    return settle(tryKeys(candidatesFor(keys, header.kid, header.alg), header.alg, token), header, token, keys.jwks)
  }

  if (cache === null) return { verify: verifyUncached, known: () => undefined, cachedTokens: () => 0 }
  // Generations only grow: their sum changes whenever any issuer's set loses a key.
  const generation = (): number => keySets.reduce((sum, keySet) => sum + keySet.generation, 0)
  let keyGeneration = generation()
  const known = (token: string): VerifyResult | undefined => {
    // A key removed from a JWKS must not keep its tokens alive through the cache.
    if (keySets.length > 0 && generation() !== keyGeneration) {
      cache.clear()
      keyGeneration = generation()
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
