import type { IncomingHttpHeaders } from 'node:http'
import type { AuthResult, Authenticator } from '../auth/authenticator.js'
import { Failures, type Failure } from '../errors.js'
import type { RequestFacts, SecuritySink } from '../security/sink.js'
import type { Claims } from '../tokens/claims.js'
import { satisfies, type AccessPolicy } from './access-policy.js'
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
}

/**
 * The whole decision for one request: public paths, token, revocation, access
 * rules. Shared by forward-auth and the proxy. `path` is the canonical path
 * (canonicalPath: the caller has refused what cannot be decoded), or null
 * when forward-auth was not told the original one.
 */
export type Authorizer = (request: AuthorizationRequest, method: string, path: string | null) => Promise<Authorization>

export function createAuthorizer ({ policy, authenticator, security }: AuthorizerOptions): Authorizer {
  function decide (request: AuthorizationRequest, method: string, path: string | null, auth: AuthResult): Authorization {
    if (!auth.ok) {
      security.denied(auth.failure.reason, auth.claims?.sub ?? null, auth.claims?.jti ?? null, request)
      return { kind: 'denied', failure: auth.failure, auth }
    }
    if (path !== null) {
      const rule = policy.ruleFor(method, path)
      if (rule !== null && !satisfies(auth.claims, rule)) {
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

  return async (request, method, path) => {
    if (path !== null && policy.isPublic(path)) return PUBLIC
    return decide(request, method, path, await authenticator.fromHeader(request.headers.authorization))
  }
}
