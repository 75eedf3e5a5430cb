import type { IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import { afterIo, NeedsIo } from '../async/needs-io.js'
import type { AuthResult, Authenticator } from './authenticator.js'
import { Failures, type Failure } from '../errors.js'
import type { RequestFacts, SecuritySink } from '../security/sink.js'
import type { Claims } from '../tokens/claims.js'
import type { AccessPolicy } from './access-policy.js'
import { createRuleCheck, type UpstreamMethodOverride } from './body-override.js'
import type { CertificateBinding } from './certificate-binding.js'
import type { DecisionLog } from './decision-log.js'
import { identityOf, type Identity } from './identity.js'
import type { TraceSpan } from '../tracing/tracing.js'
import { endDecisionSpan, type DecisionTracing } from './decision-span.js'
import type { DpopCheck } from './dpop-check.js'
import { createSenderConstraint } from './sender-constraint.js'

/** An allow carries the identity to write (identity.ts): the proxy and forward-auth only write it. */
export type Authorization =
  | { readonly kind: 'public' }
  | { readonly kind: 'allowed', readonly claims: Claims, readonly identity: Identity, readonly dpopNonce?: string }
  | { readonly kind: 'denied', readonly failure: Failure, readonly scope?: string, readonly auth?: AuthResult, readonly dpopNonce?: string }

const PUBLIC: Authorization = Object.freeze({ kind: 'public' })

/** What the decision reads of a request: a FastifyRequest is one, and so is a raw forward-auth request. */
export interface AuthorizationRequest extends RequestFacts {
  readonly headers: IncomingHttpHeaders
  /** The request target as sent (proxy): what a DPoP proof's htu is checked against. */
  readonly url?: string
  /** The connection: its TLS client certificate, and whether a trusted proxy speaks (tracing, DPoP, client-certificate.ts); absent in tests that decide without one. */
  readonly socket?: Socket
  /** The decision's span, when tracing is on: the proxy's upstream exchange is its child. */
  tokengateSpan?: TraceSpan | null
}

export interface AuthorizerOptions {
  readonly policy: AccessPolicy
  readonly authenticator: Authenticator
  readonly security: SecuritySink
  /** UPSTREAM_METHOD_OVERRIDE (see body-override.ts). */
  readonly methodOverride: UpstreamMethodOverride
  /** Latency and log line of every decision, for the mode this authorizer serves. */
  readonly decisions: DecisionLog
  /** OTEL_*: a span per decision; undefined when tracing is off. */
  readonly tracing?: DecisionTracing
  /** DPoP proofs (dpop-check.ts) when DPOP=true; without it a DPoP-bound token is refused. */
  readonly dpop?: DpopCheck
  /** Certificate-bound tokens (RFC 8705) and SECURITY_PROFILE=fapi2 (certificate-binding.ts). */
  readonly certificates: CertificateBinding
  /** SECURITY_PROFILE=fapi2: every token goes through `certificates`, not only bound ones (sender-constraint.ts). */
  readonly senderConstrainedOnly: boolean
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

export function createAuthorizer ({ policy, authenticator, security, methodOverride, decisions, tracing, dpop, certificates, senderConstrainedOnly }: AuthorizerOptions): Authorizer {
  const unmetRule = createRuleCheck(policy, methodOverride)
  const senderConstraint = createSenderConstraint({ dpop, certificates, senderConstrainedOnly }).check

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
  function decide (request: AuthorizationRequest, method: string, path: string | null, mayCarryBody: boolean, auth: AuthResult, startedAt: number, span: TraceSpan | undefined): Authorization | NeedsIo<Authorization> {
    if (!auth.ok) return decided(request, method, path, mayCarryBody, auth, startedAt, span)
    const bound = senderConstraint(request, method, auth.claims, auth.token)
    if (bound === null) return decided(request, method, path, mayCarryBody, auth, startedAt, span)
    return afterIo(bound, (failure) => decided(request, method, path, mayCarryBody, failure === null ? auth : { ok: false, failure, claims: auth.claims }, startedAt, span))
  }

  function decided (request: AuthorizationRequest, method: string, path: string | null, mayCarryBody: boolean, auth: AuthResult, startedAt: number, span: TraceSpan | undefined): Authorization {
    let decision = verdict(auth, method, path, mayCarryBody)
    const dpopNonce = dpop?.nonceFor(request, decision.kind === 'denied' ? decision.failure : null)
    if (dpopNonce !== undefined && decision.kind !== 'public') decision = { ...decision, dpopNonce }
    if (decision.kind === 'allowed') security.allowed(decision.claims, request)
    else if (decision.kind === 'denied') security.denied(decision.failure.reason, decision.auth?.claims, request)
    decisions.record(request, method, path, decision, startedAt, span)
    if (span !== undefined) endDecisionSpan(span, decision, auth)
    return decision
  }

  return (request, method, path, mayCarryBody) => {
    const startedAt = performance.now()
    const span = tracing?.start(request)
    if (path !== null && policy.isPublic(path)) {
      decisions.record(request, method, path, PUBLIC, startedAt, span)
      if (span !== undefined) endDecisionSpan(span, PUBLIC, null)
      return PUBLIC
    }
    let auth = authenticator.fromHeader(request.headers.authorization)
    // Only a decision that waits for I/O runs its rest under its span (a JWKS fetch, a store lookup are its children).
    if (span !== undefined && auth instanceof NeedsIo && tracing !== undefined) {
      const waiting = auth
      auth = new NeedsIo(async () => await tracing.tracing.within(span, async () => await waiting))
    }
    return afterIo(auth, (known) => decide(request, method, path, mayCarryBody, known, startedAt, span))
  }
}
