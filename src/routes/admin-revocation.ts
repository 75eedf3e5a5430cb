import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Authenticator } from '../decision/authenticator.js'
import { Failures, GatewayError, withDescription } from '../errors.js'
import { requireToken } from './guards.js'
import type { SenderConstraint } from '../decision/sender-constraint.js'
import { objectBody, treatMissingBodyAsEmpty } from './body-schema.js'
import { countRefusedPerAddress, perSubject } from './rate-limits.js'
import { ANY_ISSUER, issuerOfToken, type IssuerScope } from '../revocation/issuer-scope.js'
import type { Revoker } from '../revocation/revoker.js'
import type { SecuritySink } from '../security/sink.js'

interface ReasonBody { reason?: string, iss?: string }
interface TokenRevokeBody extends ReasonBody { token?: string, jti?: string, exp?: number }
interface RevokeAllBody extends ReasonBody { all_issuers?: boolean }
interface IssuerQuery { iss?: string }

const REASON = { type: 'string', maxLength: 500 }
/** An issuer named in a body or query string. */
export const ISS = { type: 'string', maxLength: 2048 }
const ISSUER_QUERY = { type: 'object', properties: { iss: ISS } }

/** `iss` from the body or the query string; named in both, it must be the same. */
function requestedIssuer (request: FastifyRequest<{ Body: ReasonBody, Querystring: IssuerQuery }>): string | undefined {
  const { iss } = request.body
  const query = request.query.iss
  if (iss !== undefined && query !== undefined && iss !== query) throw new GatewayError(Failures.ISSUER_CONFLICT)
  return iss ?? query
}

/** How an answer names the issuer of the marks it wrote. */
function issuerFields (issuer: string): { iss: string } | { all_issuers: true } {
  return issuer === ANY_ISSUER ? { all_issuers: true } : { iss: issuer }
}

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
  /** Which issuer a request names (`iss`), or the single trusted one. */
  readonly issuers: IssuerScope
  readonly security: SecuritySink
  /** Null when no trusted issuer may grant it (JWT_ISSUERS entries without grants_admin): every admin request is refused. */
  readonly adminRole: string | null
  readonly maxTokenBytes: number
  /** Bound tokens held to their key or certificate, as at the decision (sender-constraint.ts). */
  readonly senderConstraint: SenderConstraint
}

/**
 * Incident response: revoke a user, everyone, or one token; every call names
 * its reason, and the issuer (`iss`) when several are trusted.
 */
export const adminRevocationRoutes: FastifyPluginAsync<AdminRevocationOptions> = async (app, { authenticator, revoker, issuers, security, adminRole, maxTokenBytes, senderConstraint }) => {
  const guard = [requireToken({ authenticator, security, senderConstraint }, adminRole, countRefusedPerAddress(app.rateLimits)), perSubject(app.rateLimits.admin)]
  treatMissingBodyAsEmpty(app)
  // `issuer` as the marks were written: ANY_ISSUER ("*") for every issuer.
  const audit = (request: FastifyRequest, eventType: string, reason: string, issuer: string, userId: string | null, jti: string | null): void => {
    security.audit({ event_type: eventType, user_id: userId, iss: issuer, jti, reason, ip: request.ip, actor: actorOf(request), request_id: request.id })
  }

  app.post<{ Params: { id: string }, Body: ReasonBody, Querystring: IssuerQuery }>('/admin/users/:id/revoke', {
    schema: {
      params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 512 } } },
      querystring: ISSUER_QUERY,
      ...objectBody({ reason: REASON, iss: ISS })
    },
    preHandler: guard
  }, async (request) => {
    const reason = reasonOf(request.body)
    const issuer = issuers.target(requestedIssuer(request))
    const before = await revoker.user(issuer, request.params.id, 'admin_user_revoked')
    audit(request, 'admin_user_revoked', reason, issuer, request.params.id, null)
    return { revoked: 'user', user_id: request.params.id, ...issuerFields(issuer), revoked_before: before }
  })

  app.post<{ Body: RevokeAllBody, Querystring: IssuerQuery }>('/admin/revoke-all', {
    schema: { querystring: ISSUER_QUERY, ...objectBody({ reason: REASON, iss: ISS, all_issuers: { type: 'boolean' } }) },
    preHandler: guard
  }, async (request) => {
    const reason = reasonOf(request.body)
    const issuer = issuers.everyone(requestedIssuer(request), request.body.all_issuers === true)
    const before = await revoker.everyone(issuer, 'admin_revoke_all')
    audit(request, 'admin_revoke_all', reason, issuer, null, null)
    return { revoked: 'all', ...issuerFields(issuer), revoked_before: before }
  })

  app.post<{ Body: TokenRevokeBody, Querystring: IssuerQuery }>('/admin/tokens/revoke', {
    schema: {
      querystring: ISSUER_QUERY,
      ...objectBody({
        reason: REASON,
        iss: ISS,
        token: { type: 'string', minLength: 1, maxLength: maxTokenBytes },
        jti: { type: 'string', minLength: 1, maxLength: 512 },
        exp: { type: 'integer', minimum: 0 }
      })
    },
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
      // The token names its own issuer: an `iss` beside it may only say the same.
      const issuer = issuerOfToken(claims)
      const named = requestedIssuer(request)
      if (named !== undefined && named !== issuer) throw new GatewayError(Failures.ISSUER_CONFLICT)
      await revoker.token(issuer, claims.jti, claims.exp, 'admin_token_revoked')
      audit(request, 'admin_token_revoked', reason, issuer, claims.sub, claims.jti)
      return { revoked: 'token', jti: claims.jti.slice(0, 8), ...issuerFields(issuer) }
    }
    if (jti === undefined) throw new GatewayError(withDescription(Failures.BAD_REQUEST, 'Name the token: "token", or "jti" (with "exp" when known)'))
    const issuer = issuers.target(requestedIssuer(request))
    // Without exp the mark lives as long as any token can.
    const until = exp ?? Math.floor(Date.now() / 1000) + revoker.longestLifetimeS
    await revoker.token(issuer, jti, until, 'admin_token_revoked')
    audit(request, 'admin_token_revoked', reason, issuer, null, jti)
    return { revoked: 'token', jti: jti.slice(0, 8), ...issuerFields(issuer) }
  })
}
