import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Authenticator } from '../decision/authenticator.js'
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
}

/**
 * preHandler for routes that act on behalf of the bearer: the access token must
 * verify and not be revoked; its claims land on `request.tokengateClaims`.
 * With `adminRole`, the token must also hold it in its issuer's roles claim (never in `scope`),
 * and its issuer must be one that grants it (grants_admin); null is a role no token holds
 * (see Config.adminRole).
 */
export function requireToken ({ authenticator, security }: GuardOptions, adminRole?: string | null, onRefused?: OnRefused): PreHandler {
  return async (request, reply) => {
    const auth = await authenticator.fromHeader(request.headers.authorization)
    if (!auth.ok) {
      security.denied(auth.failure.reason, auth.claims, request)
      if (onRefused !== undefined && await onRefused(request, reply)) return reply
      return sendFailure(reply, auth.failure)
    }
    if (adminRole !== undefined && (adminRole === null || !holdsAdminRole(auth.claims, adminRole))) {
      security.denied(Failures.FORBIDDEN.reason, auth.claims, request)
      return sendFailure(reply, Failures.FORBIDDEN, adminRole ?? undefined)
    }
    request.tokengateClaims = auth.claims
  }
}
