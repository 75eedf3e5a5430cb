import type { Socket } from 'node:net'
import type { TraceSpan, Tracing } from '../tracing/tracing.js'
import type { AuthResult } from './authenticator.js'
import type { Authorization, AuthorizationRequest } from './authorize.js'
import type { DecisionMode } from './decision-log.js'

/** What the authorizer of one mode needs to trace its decisions. */
export interface DecisionTracing {
  readonly tracing: Tracing
  /** Starts the span of a decision: its parent only from a trusted proxy's traceparent. */
  readonly start: (request: AuthorizationRequest) => TraceSpan
}

export function decisionTracing (tracing: Tracing, mode: DecisionMode, trustedPeer: (socket: Socket) => boolean): DecisionTracing {
  return {
    tracing,
    start: (request) => {
      const span = tracing.decision(request.headers, request.socket !== undefined && trustedPeer(request.socket), { 'tokengate.mode': mode, 'tokengate.request_id': request.id })
      // The proxy's upstream exchange is the decision's child (proxy.ts).
      if (mode === 'proxy') request.tokengateSpan = span
      return span
    }
  }
}

/**
 * The decision's attributes, then its end: the outcome, the refusal's code
 * and reason, the token's issuer (never its subject or id), whether the
 * token came from the verified cache, and where the revocation answer came
 * from (the replica's state, the store, or FAIL_MODE when neither could say).
 */
export function endDecisionSpan (span: TraceSpan, decision: Authorization, auth: AuthResult | null): void {
  span.set('tokengate.outcome', decision.kind)
  if (decision.kind === 'denied') {
    span.set('tokengate.error.code', decision.failure.code)
    span.set('tokengate.error.reason', decision.failure.reason)
    span.set('http.response.status_code', decision.failure.status)
  }
  const claims = decision.kind === 'allowed' ? decision.claims : decision.kind === 'denied' ? decision.auth?.claims : undefined
  if (claims?.iss !== undefined) span.set('tokengate.issuer', claims.iss)
  if (auth !== null && auth.cached !== undefined) span.set('tokengate.token.verification', auth.cached ? 'cached' : 'verified')
  if (auth !== null && auth.revocation !== undefined) span.set('tokengate.revocation.source', auth.revocation)
  span.end()
}
