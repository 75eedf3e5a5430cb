import type { IncomingHttpHeaders } from 'node:http'
import { afterIo, type NeedsIo } from '../async/needs-io.js'
import type { AuthResult, Authenticator } from './authenticator.js'
import { Failures, type Failure } from '../errors.js'
import type { RequestFacts, SecuritySink } from '../security/sink.js'
import type { Claims } from '../tokens/claims.js'
import type { AccessPolicy } from './access-policy.js'
import { createRuleCheck, type UpstreamMethodOverride } from './body-override.js'
import type { DecisionLog } from './decision-log.js'
import { identityOf, type Identity } from './identity.js'
import { bindingCheck, type DpopCheck } from './dpop-check.js'
import type { Socket } from 'node:net'

/** An allow carries the identity to write (identity.ts): the proxy and forward-auth only write it. */
export type Authorization =
  | { readonly kind: 'public' }
  | { readonly kind: 'allowed', readonly claims: Claims, readonly identity: Identity }
  | { readonly kind: 'denied', readonly failure: Failure, readonly scope?: string, readonly auth?: AuthResult, readonly dpopNonce?: string }

const PUBLIC: Authorization = Object.freeze({ kind: 'public' })

/** What the decision reads of a request: a FastifyRequest is one, and so is a raw forward-auth request. */
export interface AuthorizationRequest extends RequestFacts {
  readonly headers: IncomingHttpHeaders
  /** The request target as sent (proxy) and the connection: what a DPoP proof's htu is checked against. */
  readonly url?: string
  readonly socket?: Socket
}

export interface AuthorizerOptions {
  readonly policy: AccessPolicy
  readonly authenticator: Authenticator
  readonly security: SecuritySink
  /** UPSTREAM_METHOD_OVERRIDE (see body-override.ts). */
  readonly methodOverride: UpstreamMethodOverride
  /** Latency and log line of every decision, for the mode this authorizer serves. */
  readonly decisions: DecisionLog
  /** DPoP proofs (dpop-check.ts) when DPOP=true; without it a DPoP-bound token is refused. */
  readonly dpop?: DpopCheck
}

/**
 * The whole decision for one request: public paths, token, revocation, access
 * rules. Shared by forward-auth and the proxy. `path` is the canonical path
 * (canonicalPath: the caller has refused what cannot be decoded), or null
 * when forward-auth was not told the original one. `mayCarryBody`: the
 * request may carry a body tokengate does not read (see body-override.ts).
 *
 * Synchronous unless a key must be fetched or the revocation store asked
 * (NeedsIo, see needs-io.ts): with a known key and a current revocation state,
 * a request is decided in one call, with no promise. This is where a decision
 * is whole, and so where tracing and sender-constraint proof checks hook in.
 */
export type Authorizer = (request: AuthorizationRequest, method: string, path: string | null, mayCarryBody: boolean) => Authorization | NeedsIo<Authorization>

export function createAuthorizer ({ policy, authenticator, security, methodOverride, decisions, dpop }: AuthorizerOptions): Authorizer {
  const unmetRule = createRuleCheck(policy, methodOverride)

  function verdict (auth: AuthResult, method: string, path: string | null, mayCarryBody: boolean): Authorization {
    if (!auth.ok) return { kind: 'denied', failure: auth.failure, auth }
    if (path !== null) {
      const rule = unmetRule(auth.claims, method, path, mayCarryBody)
      if (rule !== null) return { kind: 'denied', failure: Failures.INSUFFICIENT_SCOPE, scope: rule.scopes.join(' '), auth }
    }
    const identity = identityOf(auth.claims)
    // A claim that cannot be encoded unambiguously would give the upstream a
    // forged-looking identity; the refusal names no subject.
    if (identity === null) return { kind: 'denied', failure: Failures.TOKEN_CLAIMS }
    return { kind: 'allowed', claims: auth.claims, identity }
  }

  // Sender-constrained tokens, checked on every request after authentication (a cached token too).
  function decide (request: AuthorizationRequest, method: string, path: string | null, mayCarryBody: boolean, auth: AuthResult, startedAt: number): Authorization | NeedsIo<Authorization> {
    if (!auth.ok) return decided(request, method, path, mayCarryBody, auth, startedAt)
    const bound = bindingCheck(dpop, request, method, auth.claims, auth.token)
    if (bound === null) return decided(request, method, path, mayCarryBody, auth, startedAt)
    return afterIo(bound, (failure) => decided(request, method, path, mayCarryBody, failure === null ? auth : { ok: false, failure, claims: auth.claims }, startedAt))
  }

  function decided (request: AuthorizationRequest, method: string, path: string | null, mayCarryBody: boolean, auth: AuthResult, startedAt: number): Authorization {
    let decision = verdict(auth, method, path, mayCarryBody)
    if (decision.kind === 'denied' && decision.failure === Failures.DPOP_NONCE_REQUIRED) decision = { ...decision, dpopNonce: dpop?.nonce() }
    if (decision.kind === 'allowed') security.allowed(decision.claims, request)
    else if (decision.kind === 'denied') security.denied(decision.failure.reason, decision.auth?.claims, request)
    decisions.record(request, method, path, decision, startedAt)
    return decision
  }

  return (request, method, path, mayCarryBody) => {
    const startedAt = performance.now()
    if (path !== null && policy.isPublic(path)) {
      decisions.record(request, method, path, PUBLIC, startedAt)
      return PUBLIC
    }
    return afterIo(authenticator.fromHeader(request.headers.authorization), (auth) => decide(request, method, path, mayCarryBody, auth, startedAt))
  }
}
