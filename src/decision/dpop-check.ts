import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import { NeedsIo } from '../async/needs-io.js'
import { within } from '../async/within.js'
import { Failures, type Failure } from '../errors.js'
import type { RequestFacts } from '../security/sink.js'
import type { AsymmetricAlgorithm } from '../tokens/algorithms.js'
import type { Claims } from '../tokens/claims.js'
import { forwardedOrigin, htuMatches, pathAsSent, type ProofTarget } from './dpop-htu.js'
import { DpopNonces } from './dpop-nonce.js'
import { createProofVerifier, type ProofVerifier } from './dpop-proof.js'

/** DPOP_* (docs/configuration.md); null in Config when DPOP is off. */
export interface DpopConfig {
  /** DPOP_SIGNING_ALGS: the proof algorithms accepted, asymmetric only. */
  readonly algorithms: readonly AsymmetricAlgorithm[]
  /** DPOP_PROOF_MAX_AGE_S: a proof's `iat` may be this far from now, beyond the clock tolerance. */
  readonly maxAgeS: number
  /** DPOP_ORIGINS (default RESOURCE_URL's origin): the origins `htu` may name when no trusted proxy names one. */
  readonly origins: readonly string[]
  /** DPOP_NONCE_SECRET when DPOP_NONCE=true: nonces are required (RFC 9449 §9); null otherwise. */
  readonly nonceSecret: string | null
  /** DPOP_FORWARD_PROOF: the proxy passes the DPoP header upstream. */
  readonly forwardProof: boolean
}

/**
 * Ids used once, across replicas (src/idp/replay-guard.ts is one, injected by app.ts): `claim`
 * resolves true the first time, false for a replay, and rejects when it cannot know.
 */
export interface DpopReplayGuard {
  /** `owner`: the request id; the same request asking again (a proxy's re-ask) is not a replay (replay-guard.ts). */
  claim: (scope: string, id: string, untilS: number, owner?: string) => Promise<boolean>
}

export type DpopAlert = 'dpop_proof_replayed' | 'bound_token_without_key'

export interface DpopDeps {
  readonly guard: DpopReplayGuard
  readonly clockToleranceS: number
  /** A replay check not answered within this is a 503 (DPOP_REPLAY_UNAVAILABLE), whatever FAIL_MODE says. */
  readonly replayTimeoutMs: number
  /** tokengate_dpop_failures_total. */
  readonly failed: (reason: string) => void
  readonly raise: (type: DpopAlert, claims: Claims, request: RequestFacts, detail: string) => void
  /** Milliseconds clock (Date.now). */
  readonly now?: () => number
}

/** What the check reads of a request: its headers, and for the target its URL (proxy) and socket (trusted proxy). */
export interface DpopRequest extends RequestFacts {
  readonly headers: IncomingHttpHeaders
  readonly url?: string
  readonly socket?: Socket
}

/** The method and URI the proof must name, for one mode; null when they cannot be known (refused). */
export type TargetOf = (request: DpopRequest, method: string) => ProofTarget | null

/** The proof of one request is checked against one token: null when it passes. */
export type DpopVerdict = Failure | null | NeedsIo<Failure | null>

export interface DpopCheck {
  /**
   * For a verified, unrevoked token sent with `dpopScheme` (Authorization: DPoP) or as Bearer.
   * `token` null: a refresh token from a request body (§5), whose proof carries no `ath`; a proof is
   * required only when it is bound.
   */
  readonly check: (request: DpopRequest, method: string, claims: Claims, token: string | null, dpopScheme: boolean) => DpopVerdict
  /**
   * The DPoP-Nonce to send with the answer to a checked request, whose decision refused it with
   * `failure` or allowed it (null): the current nonce after a use_dpop_nonce refusal (§9), or when
   * its proof carried the previous step's nonce, which expires within a step (§8.2: before the
   * client's expires, so a busy client never gets a use_dpop_nonce refusal); undefined otherwise,
   * and always without DPOP_NONCE.
   */
  readonly nonceFor: (request: DpopRequest, failure: Failure | null) => string | undefined
}

const REPLAY_UNKNOWN = Symbol('unknown')

/** RFC 7230 token68 / RFC 9110 §11.1: the scheme name is case-insensitive. */
export function isDpopScheme (authorization: string | undefined): boolean {
  return authorization !== undefined && (authorization.charCodeAt(0) | 32) === 100 /* d */
}

/**
 * RFC 9449 §4.3 and §7 at the resource server, for tokens that verified and are not revoked.
 * Plain bearer tokens without a DPoP header pass at the cost of two undefined checks.
 */
export function createDpopCheck (config: DpopConfig, deps: DpopDeps, targetOf: TargetOf, verifyProof: ProofVerifier = createProofVerifier(config.algorithms)): DpopCheck {
  const now = deps.now ?? Date.now
  const windowS = config.maxAgeS + deps.clockToleranceS
  const nonces = config.nonceSecret === null ? null : new DpopNonces(config.nonceSecret, now)
  // Requests whose proof carried the previous step's nonce: their answer hands out the current one.
  const behind = new WeakSet<DpopRequest>()

  function refused (failure: Failure): Failure {
    deps.failed(failure.reason)
    return failure
  }

  function withoutKey (failure: Failure, claims: Claims, request: DpopRequest, detail: string): Failure {
    deps.raise('bound_token_without_key', claims, request, detail)
    return refused(failure)
  }

  function check (request: DpopRequest, method: string, claims: Claims, token: string | null, dpopScheme: boolean): DpopVerdict {
    const header = request.headers.dpop
    const jkt = claims.cnf?.jkt
    if (jkt === undefined) {
      if ((!dpopScheme && header === undefined) || token === null) return null
      // §7.1: the DPoP scheme is for DPoP-bound tokens; a proof beside a bearer token binds nothing.
      return refused(Failures.DPOP_TOKEN_UNBOUND)
    }
    // §7.2: a DPoP-bound token sent as Bearer is refused, proof or not.
    if (!dpopScheme) return withoutKey(Failures.DPOP_BOUND_AS_BEARER, claims, request, 'sent as Bearer')
    if (header === undefined) return withoutKey(Failures.DPOP_PROOF_MISSING, claims, request, 'no DPoP proof')
    // §4.3 check 1: exactly one DPoP header (Node joins repeated ones with ", ", which no JWT holds).
    if (typeof header !== 'string' || header.includes(',')) return refused(Failures.DPOP_PROOF_INVALID)
    // §6.1, §4.3 check 12: the proof's key is the one the token is bound to (checked by the
    // verifier before the signature).
    const proof = verifyProof(header, jkt)
    if (proof === Failures.DPOP_KEY_MISMATCH) return withoutKey(proof, claims, request, 'DPoP proof signed by another key')
    if ('code' in proof) return refused(proof)
    const target = targetOf(request, method)
    if (target === null) return refused(Failures.DPOP_TARGET_UNKNOWN)
    // §4.3 check 8: htm is the method, exactly (RFC 9110 §9.1: case-sensitive); check 9: htu,
    // compared after RFC 3986 normalisation (dpop-htu.ts).
    if (proof.htm !== target.method || !htuMatches(proof.htu, target)) return refused(Failures.DPOP_PROOF_TARGET)
    // §4.3 check 11: iat within the window (§11.1).
    const nowS = now() / 1000
    if (Math.abs(nowS - proof.iat) > windowS) return refused(Failures.DPOP_PROOF_STALE)
    // §4.3 check 12 (§7): ath is the hash of this very token.
    if (token !== null && (proof.ath === undefined || proof.ath !== createHash('sha256').update(token).digest('base64url'))) return refused(Failures.DPOP_PROOF_ATH)
    // §9 (§4.3 check 10): the server's nonce, when it asks for one.
    if (nonces !== null) {
      const age = nonces.age(proof.nonce)
      if (age === null) return refused(Failures.DPOP_NONCE_REQUIRED)
      if (age === 'previous') behind.add(request)
    }
    // §11.1: each proof once, within its window, across replicas; the entry outlives the window.
    // Owned by the request id and client address: nginx's recipe asks again for a refused request
    // under the same id, and that second look at the same proof is no replay (docs/forward-auth.md).
    // The address too, because a trusted proxy may pass on a client's own X-Request-Id: a captured
    // proof replayed under its request's id from elsewhere is still a replay.
    const claimed = deps.guard.claim(`dpop\n${jkt}`, proof.jti, proof.iat + windowS, `${request.id} ${request.ip}`)
    return new NeedsIo(async () => {
      const fresh = await within(claimed, deps.replayTimeoutMs, REPLAY_UNKNOWN)
      if (fresh === REPLAY_UNKNOWN) return refused(Failures.DPOP_REPLAY_UNAVAILABLE)
      if (!fresh) {
        deps.raise('dpop_proof_replayed', claims, request, 'a DPoP proof jti was presented again')
        return refused(Failures.DPOP_PROOF_REPLAYED)
      }
      return null
    })
  }

  function nonceFor (request: DpopRequest, failure: Failure | null): string | undefined {
    if (nonces === null) return undefined
    return failure === Failures.DPOP_NONCE_REQUIRED || behind.has(request) ? nonces.current() : undefined
  }

  return { check, nonceFor }
}

/**
 * The binding check of one authenticated request, whether DPoP is on or off: without DPOP=true
 * a DPoP-bound token is refused (§7.2), at the cost of one undefined check for the others.
 */
export function bindingCheck (dpop: DpopCheck | undefined, request: DpopRequest, method: string, claims: Claims, token: string): DpopVerdict {
  if (dpop === undefined) return claims.cnf?.jkt === undefined ? null : Failures.DPOP_BOUND_AS_BEARER
  return dpop.check(request, method, claims, token, isDpopScheme(request.headers.authorization))
}

/**
 * The origins `htu` may name: the trusted proxy's, when it names one of DPOP_ORIGINS (never empty
 * with DPOP on, config/dpop.ts); otherwise all of them. A proxy that passes on whatever Host a
 * client sent cannot make a proof made for another server pass here.
 */
function originsOf (forwarded: string | null, origins: readonly string[]): readonly string[] {
  return forwarded !== null && origins.includes(forwarded) ? [forwarded] : origins
}

/** The proxy's target: the method and URI as the client sent them, on the trusted proxy's origin or DPOP_ORIGINS. */
export function proxyTarget (origins: readonly string[], isTrusted: (socket: Socket) => boolean): TargetOf {
  return (request, method) => {
    const forwarded = request.socket === undefined ? null : forwardedOrigin(request.headers, isTrusted(request.socket))
    const candidates = originsOf(forwarded, origins)
    if (candidates.length === 0 || request.url === undefined) return null
    return { method, origins: candidates, path: pathAsSent(request.url) }
  }
}

function one (a: string | string[] | undefined, b: string | string[] | undefined): string | undefined {
  if (Array.isArray(a) || Array.isArray(b)) return undefined
  return a ?? b
}

/**
 * Forward-auth's target: the original method and URI only from a trusted proxy (X-Forwarded- or
 * X-Original-Method/-URI; original-request.ts has refused conflicting ones), the origin from its
 * X-Forwarded-Proto/-Host or DPOP_ORIGINS. Missing, the proof cannot be checked: refused.
 */
export function forwardAuthTarget (origins: readonly string[], isTrusted: (socket: Socket) => boolean): TargetOf {
  return (request) => {
    if (request.socket === undefined || !isTrusted(request.socket)) return null
    const { headers } = request
    const uri = one(headers['x-forwarded-uri'], headers['x-original-uri'])
    const method = one(headers['x-forwarded-method'], headers['x-original-method'])
    if (uri === undefined || method === undefined || uri.charCodeAt(0) !== 47 /* / */) return null
    const candidates = originsOf(forwardedOrigin(headers, true), origins)
    if (candidates.length === 0) return null
    return { method: method.toUpperCase(), origins: candidates, path: pathAsSent(uri) }
  }
}
