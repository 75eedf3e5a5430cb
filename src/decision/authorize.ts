import type { IncomingHttpHeaders } from 'node:http'
import type { AuthResult, Authenticator } from './authenticator.js'
import { Failures, type Failure } from '../errors.js'
import type { RequestFacts, SecuritySink } from '../security/sink.js'
import type { Claims } from '../tokens/claims.js'
import type { UpstreamMethodOverride } from '../config/types.js'
import type { AccessPolicy } from './access-policy.js'
import { createRuleCheck } from './body-override.js'
import { identityOf } from './identity.js'

export type Authorization =
  | { readonly kind: 'public' }
  | { readonly kind: 'allowed', readonly claims: Claims }
  | { readonly kind: 'denied', readonly failure: Failure, readonly scope?: string, readonly auth?: AuthResult }

const PUBLIC: Authorization = Object.freeze({ kind: 'public' })

/** What the decision reads of a request: a FastifyRequest is one, and so is a raw forward-auth request. */
export interface AuthorizationRequest extends RequestFacts {
  readonly headers: IncomingHttpHeaders
}

export interface AuthorizerOptions {
  readonly policy: AccessPolicy
  readonly authenticator: Authenticator
  readonly security: SecuritySink
  /** UPSTREAM_METHOD_OVERRIDE (see body-override.ts). */
  readonly methodOverride: UpstreamMethodOverride
}

/**
 * The whole decision for one request: public paths, token, revocation, access
 * rules. Shared by forward-auth and the proxy. `path` is the canonical path
 * (canonicalPath: the caller has refused what cannot be decoded), or null
 * when forward-auth was not told the original one. `mayCarryBody`: the
 * request may carry a body tokengate does not read (see body-override.ts).
 */
export type Authorizer = (request: AuthorizationRequest, method: string, path: string | null, mayCarryBody: boolean) => Promise<Authorization>

export function createAuthorizer ({ policy, authenticator, security, methodOverride }: AuthorizerOptions): Authorizer {
  const unmetRule = createRuleCheck(policy, methodOverride)
  function decide (request: AuthorizationRequest, method: string, path: string | null, mayCarryBody: boolean, auth: AuthResult): Authorization {
    if (!auth.ok) {
      security.denied(auth.failure.reason, auth.claims?.sub ?? null, auth.claims?.jti ?? null, request)
      return { kind: 'denied', failure: auth.failure, auth }
    }
    if (path !== null) {
      const rule = unmetRule(auth.claims, method, path, mayCarryBody)
      if (rule !== null) {
        security.denied(Failures.INSUFFICIENT_SCOPE.reason, auth.claims.sub, auth.claims.jti, request)
        return { kind: 'denied', failure: Failures.INSUFFICIENT_SCOPE, scope: rule.scopes.join(' '), auth }
      }
    }
    // A claim that cannot be encoded unambiguously would give the upstream a forged-looking identity.
    if (identityOf(auth.claims) === null) {
      security.denied(Failures.TOKEN_CLAIMS.reason, null, null, request)
      return { kind: 'denied', failure: Failures.TOKEN_CLAIMS, auth }
    }
    security.allowed(auth.claims.sub, auth.claims.jti, request)
    return { kind: 'allowed', claims: auth.claims }
  }

  return async (request, method, path, mayCarryBody) => {
    if (path !== null && policy.isPublic(path)) return PUBLIC
    return decide(request, method, path, mayCarryBody, await authenticator.fromHeader(request.headers.authorization))
  }
}
