import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Authenticator } from '../decision/authenticator.js'
import type { SenderConstraint } from '../decision/sender-constraint.js'
import { Failures } from '../errors.js'
import { sendFailure } from '../server/failure-reply.js'
import type { SecuritySink } from '../security/sink.js'
import { holdsAdminRole } from '../tokens/claims.js'

type PreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/** Runs before a refusal for want of a usable token is sent; true when it answered instead (429). */
export type OnRefused = (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>

/** What a guard needs: the token check, and where refusals are reported. */
export interface GuardOptions {
  readonly authenticator: Authenticator
  readonly security: SecuritySink
  /** The decision's sender-constraint check (DPoP, certificate, SECURITY_PROFILE=fapi2), for the routes' own URIs. */
  readonly senderConstraint: SenderConstraint
}

/**
 * preHandler for routes that act on behalf of the bearer: the access token must
 * verify and not be revoked; its claims land on `request.tokengateClaims`.
 * With `adminRole`, the token must also hold it in its issuer's roles claim (never in `scope`),
 * and its issuer must be one that grants it (grants_admin); null is a role no token holds
 * (see Config.adminRole).
 */
export function requireToken ({ authenticator, security, senderConstraint }: GuardOptions, adminRole?: string | null, onRefused?: OnRefused): PreHandler {
  const { check, dpop } = senderConstraint
  return async (request, reply) => {
    const authenticated = await authenticator.fromHeader(request.headers.authorization)
    // RFC 9449 §7, RFC 8705 §3: a bound token acts here only with its key or certificate, as at the decision.
    const bound = authenticated.ok ? await check(request, request.method, authenticated.claims, authenticated.token) : null
    const auth = bound === null || !authenticated.ok ? authenticated : { ok: false as const, failure: bound, claims: authenticated.claims }
    if (!auth.ok) {
      security.denied(auth.failure.reason, auth.claims, request)
      if (onRefused !== undefined && await onRefused(request, reply)) return reply
      return sendFailure(reply, auth.failure, undefined, dpop?.nonceFor(request, auth.failure))
    }
    // RFC 9449 §8.2: a proof on the previous step's nonce gets the current one with the answer.
    const dpopNonce = dpop?.nonceFor(request, null)
    if (dpopNonce !== undefined) reply.header('dpop-nonce', dpopNonce)
    if (adminRole !== undefined && (adminRole === null || !holdsAdminRole(auth.claims, adminRole))) {
      security.denied(Failures.FORBIDDEN.reason, auth.claims, request)
      return sendFailure(reply, Failures.FORBIDDEN, adminRole ?? undefined)
    }
    request.tokengateClaims = auth.claims
  }
}
