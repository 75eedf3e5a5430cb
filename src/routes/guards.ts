import type { FastifyReply, FastifyRequest } from 'fastify'
import type { GatewayContext } from '../context.js'
import { Failures } from '../errors.js'
import { sendFailure } from '../http/failure-reply.js'
import { hasRole } from '../tokens/claims.js'

type PreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/** Runs before a refusal for want of a usable token is sent; true when it answered instead (429). */
export type OnRefused = (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>

/**
 * preHandler for routes that act on behalf of the bearer: the access token must
 * verify and not be revoked; its claims land on `request.tokengateClaims`.
 * With `role`, the token must also hold it in a ROLES_CLAIM claim (never in `scope`).
 */
export function requireToken (ctx: GatewayContext, role?: string, onRefused?: OnRefused): PreHandler {
  return async (request, reply) => {
    const auth = await ctx.authenticator.fromHeader(request.headers.authorization)
    if (!auth.ok) {
      ctx.security.denied(auth.failure.reason, auth.claims?.sub ?? null, auth.claims?.jti ?? null, request)
      if (onRefused !== undefined && await onRefused(request, reply)) return reply
      return sendFailure(reply, auth.failure)
    }
    if (role !== undefined && !hasRole(auth.claims, role)) {
      ctx.security.denied(Failures.FORBIDDEN.reason, auth.claims.sub, auth.claims.jti, request)
      return sendFailure(reply, Failures.FORBIDDEN, role)
    }
    request.tokengateClaims = auth.claims
  }
}

/** preHandler for /admin routes: a valid token whose roles hold ADMIN_ROLE. */
export function adminGuard (ctx: GatewayContext, onRefused?: OnRefused): PreHandler {
  return requireToken(ctx, ctx.config.adminRole, onRefused)
}
