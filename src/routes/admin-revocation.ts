import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Authenticator } from '../decision/authenticator.js'
import { Failures, GatewayError, withDescription } from '../errors.js'
import { requireToken } from './guards.js'
import { objectBody, treatMissingBodyAsEmpty } from './body-schema.js'
import { countRefusedPerAddress, perSubject } from './rate-limits.js'
import type { Revoker } from '../revocation/revoker.js'
import type { SecuritySink } from '../security/sink.js'

interface ReasonBody { reason?: string }
interface TokenRevokeBody extends ReasonBody { token?: string, jti?: string, exp?: number }

const REASON = { type: 'string', maxLength: 500 }

function reasonOf (body: ReasonBody): string {
  const reason = body.reason?.trim()
  if (reason === undefined || reason === '') throw new GatewayError(Failures.REASON_REQUIRED)
  return reason
}

function actorOf (request: FastifyRequest): string {
  return request.tokengateClaims?.sub ?? 'unknown'
}

export interface AdminRevocationOptions {
  readonly authenticator: Authenticator
  readonly revoker: Revoker
  readonly security: SecuritySink
  /** Null when no trusted issuer may grant it (JWT_ISSUERS entries without grants_admin): every admin request is refused. */
  readonly adminRole: string | null
  readonly maxTokenBytes: number
}

/** Incident response: revoke a user, everyone, or one token; every call names its reason. */
export const adminRevocationRoutes: FastifyPluginAsync<AdminRevocationOptions> = async (app, { authenticator, revoker, security, adminRole, maxTokenBytes }) => {
  const guard = [requireToken({ authenticator, security }, adminRole, countRefusedPerAddress(app.rateLimits)), perSubject(app.rateLimits.admin)]
  treatMissingBodyAsEmpty(app)
  const audit = (request: FastifyRequest, eventType: string, reason: string, userId: string | null, jti: string | null): void => {
    security.audit({ event_type: eventType, user_id: userId, jti, reason, ip: request.ip, actor: actorOf(request), request_id: request.id })
  }

  app.post<{ Params: { id: string }, Body: ReasonBody }>('/admin/users/:id/revoke', {
    schema: {
      params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 512 } } },
      ...objectBody({ reason: REASON })
    },
    preHandler: guard
  }, async (request) => {
    const reason = reasonOf(request.body)
    const before = await revoker.user(request.params.id, 'admin_user_revoked')
    audit(request, 'admin_user_revoked', reason, request.params.id, null)
    return { revoked: 'user', user_id: request.params.id, revoked_before: before }
  })

  app.post<{ Body: ReasonBody }>('/admin/revoke-all', {
    schema: objectBody({ reason: REASON }),
    preHandler: guard
  }, async (request) => {
    const reason = reasonOf(request.body)
    const before = await revoker.everyone('admin_revoke_all')
    audit(request, 'admin_revoke_all', reason, null, null)
    return { revoked: 'all', revoked_before: before }
  })

  app.post<{ Body: TokenRevokeBody }>('/admin/tokens/revoke', {
    schema: objectBody({
      reason: REASON,
      token: { type: 'string', minLength: 1, maxLength: maxTokenBytes },
      jti: { type: 'string', minLength: 1, maxLength: 512 },
      exp: { type: 'integer', minimum: 0 }
    }),
    preHandler: guard
  }, async (request) => {
    const reason = reasonOf(request.body)
    const { token, jti, exp } = request.body
    if (token !== undefined) {
      const verified = await authenticator.verifyOnly(token)
      if (!verified.ok) {
        if (verified.failure === Failures.TOKEN_EXPIRED) return { revoked: 'token', already_expired: true }
        throw new GatewayError(Failures.TOKEN_PARAM_INVALID)
      }
      const claims = verified.claims
      await revoker.token(claims.jti, claims.exp, 'admin_token_revoked')
      audit(request, 'admin_token_revoked', reason, claims.sub, claims.jti)
      return { revoked: 'token', jti: claims.jti.slice(0, 8) }
    }
    if (jti === undefined) throw new GatewayError(withDescription(Failures.BAD_REQUEST, 'Name the token: "token", or "jti" (with "exp" when known)'))
    // Without exp the mark lives as long as any token can.
    const until = exp ?? Math.floor(Date.now() / 1000) + revoker.longestLifetimeS
    await revoker.token(jti, until, 'admin_token_revoked')
    audit(request, 'admin_token_revoked', reason, null, jti)
    return { revoked: 'token', jti: jti.slice(0, 8) }
  })
}
