import type { IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import { afterIo, type NeedsIo } from '../async/needs-io.js'
import type { AuthResult, Authenticator } from './authenticator.js'
import { Failures, type Failure } from '../errors.js'
import type { RequestFacts, SecuritySink } from '../security/sink.js'
import type { Claims } from '../tokens/claims.js'
import type { AccessPolicy } from './access-policy.js'
import { createRuleCheck, type UpstreamMethodOverride } from './body-override.js'
import type { CertificateBinding } from './certificate-binding.js'
import type { DecisionLog } from './decision-log.js'
import { identityOf, type Identity } from './identity.js'

/** An allow carries the identity to write (identity.ts): the proxy and forward-auth only write it. */
export type Authorization =
  | { readonly kind: 'public' }
  | { readonly kind: 'allowed', readonly claims: Claims, readonly identity: Identity }
  | { readonly kind: 'denied', readonly failure: Failure, readonly scope?: string, readonly auth?: AuthResult }

const PUBLIC: Authorization = Object.freeze({ kind: 'public' })

/** What the decision reads of a request: a FastifyRequest is one, and so is a raw forward-auth request. */
export interface AuthorizationRequest extends RequestFacts {
  readonly headers: IncomingHttpHeaders
  /** The connection: its TLS client certificate, and whether a trusted proxy speaks (client-certificate.ts). */
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
  /** Certificate-bound tokens (RFC 8705) and SECURITY_PROFILE=fapi2 (certificate-binding.ts). */
  readonly certificates: CertificateBinding
  /** SECURITY_PROFILE=fapi2: every token goes through `certificates`, not only bound ones. */
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

export function createAuthorizer ({ policy, authenticator, security, methodOverride, decisions, certificates, senderConstrainedOnly }: AuthorizerOptions): Authorizer {
  const unmetRule = createRuleCheck(policy, methodOverride)

  function verdict (request: AuthorizationRequest, auth: AuthResult, method: string, path: string | null, mayCarryBody: boolean): Authorization {
    if (!auth.ok) return { kind: 'denied', failure: auth.failure, auth }
    // One undefined check for an unbound token outside the FAPI profile.
    if (auth.claims.cnf !== undefined || senderConstrainedOnly) {
      const unbound = certificates(auth.claims, request)
      if (unbound !== null) return { kind: 'denied', failure: unbound, auth }
    }
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

  function decide (request: AuthorizationRequest, method: string, path: string | null, mayCarryBody: boolean, auth: AuthResult, startedAt: number): Authorization {
    const decision = verdict(request, auth, method, path, mayCarryBody)
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
