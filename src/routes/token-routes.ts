import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Authenticator } from '../decision/authenticator.js'
import type { SenderConstraint } from '../decision/sender-constraint.js'
import { Failures, GatewayError, type Failure } from '../errors.js'
import { sendFailure } from '../server/failure-reply.js'
import { issuerOfToken } from '../revocation/issuer-scope.js'
import type { Revoker } from '../revocation/revoker.js'
import type { RequestFacts, SecuritySink } from '../security/sink.js'
import type { Claims } from '../tokens/claims.js'
import { cnfClaim, isRefreshToken, rolesOf, scopesOf, sessionOf } from '../tokens/claims.js'
import type { TokenIssuer } from '../tokens/issuer.js'
import { rotationWindow, type RotationLimits } from '../tokens/rotation.js'
import { requireToken } from './guards.js'
import { objectBody, treatMissingBodyAsEmpty } from './body-schema.js'
import { addressKey, countRefusedPerAddress, perSubject, subjectKey } from './rate-limits.js'

interface TokenBody { refresh_token?: string, token?: string }

function bodySchema (maxTokenBytes: number, required: string[] = []): { body: object } {
  const token = { type: 'string', minLength: 1, maxLength: maxTokenBytes }
  return objectBody({ refresh_token: token, token }, required)
}

function claimsOf (request: FastifyRequest): Claims {
  const claims = request.tokengateClaims
  if (claims === null) throw new GatewayError(Failures.TOKEN_MISSING)
  return claims
}

/** Verifies a token named in a body and checks it belongs to the bearer; null when it is expired (nothing to revoke). */
async function ownedBodyToken (authenticator: Authenticator, token: string, owner: Claims): Promise<Claims | null> {
  const verified = await authenticator.verifyOnly(token)
  if (!verified.ok) {
    if (verified.failure === Failures.TOKEN_EXPIRED) return null
    throw new GatewayError(Failures.TOKEN_PARAM_INVALID)
  }
  // The identity is the pair (iss, sub): `alice` of another issuer is another user.
  if (verified.claims.sub !== owner.sub || issuerOfToken(verified.claims) !== issuerOfToken(owner)) throw new GatewayError(Failures.TOKEN_NOT_OWNED)
  return verified.claims
}

export interface TokenRouteOptions {
  readonly authenticator: Authenticator
  readonly revoker: Revoker
  readonly security: SecuritySink
  /** Null when no signing key is configured: the refresh route is not served. */
  readonly issuer: TokenIssuer | null
  /** AUTH_PREFIX (not `prefix`, which Fastify would apply to every route a second time). */
  readonly authPrefix: string
  readonly maxTokenBytes: number
  readonly accessTokenTtlS: number
  /** Refresh token lifetime and absolute session lifetime. */
  readonly rotation: RotationLimits
  /** Bound access and refresh tokens held to their key or certificate, as at the decision (sender-constraint.ts). */
  readonly senderConstraint: SenderConstraint
}

/** Logout, refresh rotation, self-revocation and validation under AUTH_PREFIX. */
export const tokenRoutes: FastifyPluginAsync<TokenRouteOptions> = async (app, options) => {
  const { authenticator, revoker, security, authPrefix: prefix, maxTokenBytes, accessTokenTtlS, rotation, senderConstraint } = options
  const limits = app.rateLimits
  const bearer = requireToken({ authenticator, security, senderConstraint }, undefined, countRefusedPerAddress(limits))
  treatMissingBodyAsEmpty(app)

  app.post<{ Body: TokenBody }>(`${prefix}/logout`, {
    schema: bodySchema(maxTokenBytes),
    preHandler: [bearer, perSubject(limits.logout)]
  }, async (request) => {
    const claims = claimsOf(request)
    const refreshToken = request.body.refresh_token
    const refresh = refreshToken === undefined ? null : await ownedBodyToken(authenticator, refreshToken, claims)
    // A user's own marks are their issuer's; a refresh token named here has the same one (ownedBodyToken).
    const issuer = issuerOfToken(claims)
    await revoker.token(issuer, claims.jti, claims.exp, 'logout', request.ip)
    await revoker.session(issuer, sessionOf(claims), 'logout', request.ip)
    if (refresh !== null) {
      await revoker.token(issuer, refresh.jti, refresh.exp, 'logout', request.ip)
      if (sessionOf(refresh) !== sessionOf(claims)) await revoker.session(issuer, sessionOf(refresh), 'logout', request.ip)
    }
    security.audit({ event_type: 'logout', user_id: claims.sub, iss: issuerOfToken(claims), jti: claims.jti, reason: 'user_logout', ip: request.ip, actor: claims.sub, request_id: request.id })
    return { status: 'logged_out', session_revoked: true, refresh_token_revoked: refresh !== null }
  })

  if (options.issuer !== null) {
    const issuer = options.issuer
    app.post<{ Body: TokenBody }>(`${prefix}/refresh`, {
      schema: bodySchema(maxTokenBytes, ['refresh_token'])
    }, async (request, reply) => {
      const auth = await authenticator.fromToken(request.body.refresh_token ?? '', 'refresh')
      if (!auth.ok) {
        // RFC 9700 4.14.2: a rotated (jti-revoked) refresh token presented again is reuse, when its
        // holder presents it: a copy of a bound one without its key or certificate ends no session.
        const spent = auth.mark === 'jti' && auth.claims !== undefined ? auth.claims : null
        const keyless = spent === null ? null : await senderConstraint.check(request, request.method, spent, null)
        if (spent !== null && keyless === null) await onReuse(spent, request)
        else security.denied((keyless ?? auth.failure).reason, auth.claims, request)
        // Only failed attempts count per address (issue 16): a flood of bad refreshes from a NAT's
        // address must not lock the users behind it out of rotation.
        if (!(await limits.refreshPerAddress.hit(request, reply, addressKey(request)))) return reply
        return refuse(request, reply, keyless ?? auth.failure)
      }
      const old = auth.claims
      // RFC 9449 §5 (a proof without ath: no access token is sent), RFC 8705 §4: a bound refresh
      // token is used only with its key or certificate, checked before the token is spent: a thief
      // without them cannot burn it. SECURITY_PROFILE=fapi2 refuses an unbound one: it would mint
      // unbound access tokens, which FAPI 2.0 lets no authorization server issue.
      const bound = await senderConstraint.check(request, request.method, old, null)
      if (bound !== null) {
        security.denied(bound.reason, old, request)
        return refuse(request, reply, bound)
      }
      // RFC 9449 §8.2: a proof on the previous step's nonce gets the current one with the answer.
      const dpopNonce = senderConstraint.dpop?.nonceFor(request, null)
      if (dpopNonce !== undefined) reply.header('dpop-nonce', dpopNonce)
      // Per subject once verified, before the token is spent: a limited client retries with the same token.
      if (!(await limits.refreshPerSubject.hit(request, reply, subjectKey(old)))) return reply
      const nowS = Math.floor(Date.now() / 1000)
      const window = rotationWindow(old, nowS, rotation)
      if (window === null) {
        security.denied(Failures.SESSION_EXPIRED.reason, old, request)
        return sendFailure(reply, Failures.SESSION_EXPIRED)
      }
      // Consuming the old token is the atomic step: of two concurrent refreshes, one wins and one is reuse.
      const consumed = await revoker.token(issuerOfToken(old), old.jti, old.exp, 'token_refreshed')
      if (!consumed) {
        await onReuse(old, request)
        return sendFailure(reply, Failures.TOKEN_REVOKED)
      }
      const sid = sessionOf(old)
      // Claims (roles included) are those of the login: a role change takes effect through user-wide revocation.
      // The binding too (RFC 9449 §5): the new pair is bound to the same key or certificate.
      const claims = { ...old, auth_time: window.sessionStart, cnf: cnfClaim(old.cnf) }
      const access = issuer.mint({ sub: old.sub, ttlS: accessTokenTtlS, sid, claims, notAfter: window.sessionEnd })
      const refresh = issuer.mint({ sub: old.sub, ttlS: rotation.refreshTokenTtlS, sid, claims, refresh: true, notAfter: window.refreshNotAfter })
      security.tokenIssued(old, request)
      security.audit({ event_type: 'token_refreshed', user_id: old.sub, iss: issuerOfToken(old), jti: old.jti, reason: 'rotation', ip: request.ip, actor: old.sub, request_id: request.id })
      reply.header('cache-control', 'no-store')
      return { access_token: access.token, refresh_token: refresh.token, token_type: old.cnf?.jkt !== undefined ? 'DPoP' : 'Bearer', expires_in: access.exp - access.iat }
    })

    function refuse (request: FastifyRequest, reply: FastifyReply, failure: Failure): FastifyReply {
      return sendFailure(reply, failure, undefined, senderConstraint.dpop?.nonceFor(request, failure))
    }

    async function onReuse (claims: Claims, facts: RequestFacts): Promise<void> {
      const sid = sessionOf(claims)
      await revoker.session(issuerOfToken(claims), sid, 'refresh_reuse')
      security.refreshReuse(claims, sid, facts)
      security.audit({ event_type: 'refresh_reuse', user_id: claims.sub, iss: issuerOfToken(claims), jti: claims.jti, reason: 'session_revoked', ip: facts.ip, actor: claims.sub, request_id: facts.id })
    }
  } else {
    app.log.warn('no signing key (asymmetric keys without JWT_PRIVATE_KEY): the refresh route is disabled')
  }

  app.post<{ Body: TokenBody }>(`${prefix}/revoke`, {
    schema: bodySchema(maxTokenBytes),
    preHandler: [bearer, perSubject(limits.revoke)]
  }, async (request) => {
    const bearerClaims = claimsOf(request)
    const named = request.body.token
    const target = named === undefined ? bearerClaims : await ownedBodyToken(authenticator, named, bearerClaims)
    if (target !== null) {
      const issuer = issuerOfToken(target)
      await revoker.token(issuer, target.jti, target.exp, 'token_revoked', request.ip)
      // A refresh token stands for its whole grant (RFC 7009 section 2.1).
      if (isRefreshToken(target)) await revoker.session(issuer, sessionOf(target), 'token_revoked', request.ip)
      security.audit({ event_type: 'token_revoked', user_id: target.sub, iss: issuerOfToken(target), jti: target.jti, reason: 'user_request', ip: request.ip, actor: bearerClaims.sub, request_id: request.id })
    }
    return { status: 'revoked' }
  })

  app.get(`${prefix}/token/validate`, { preHandler: bearer }, async (request, reply) => {
    const claims = claimsOf(request)
    const now = Math.floor(Date.now() / 1000)
    reply.header('cache-control', 'no-store')
    return {
      valid: true,
      sub: claims.sub,
      jti: claims.jti,
      sid: claims.sid ?? null,
      token_type: isRefreshToken(claims) ? 'refresh' : 'access',
      scope: scopesOf(claims).join(' '),
      roles: rolesOf(claims),
      iat: claims.iat,
      exp: claims.exp,
      expires_in: Math.max(0, claims.exp - now)
    }
  })
}
