import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Authenticator } from '../decision/authenticator.js'
import type { IntrospectionClient } from './client-auth.js'
import { Failures } from '../errors.js'
import { sendFailure } from '../server/failure-reply.js'
import type { GatewayMetrics } from '../metrics/metrics.js'
import { issuerOfToken } from '../revocation/issuer-scope.js'
import type { Revoker } from '../revocation/revoker.js'
import type { SecuritySink } from '../security/sink.js'
import type { Claims } from '../tokens/claims.js'
import { confirmationClaim, isRefreshToken, scopesOf, sessionOf } from '../tokens/claims.js'
import { objectBody, treatMissingBodyAsEmpty } from './body-schema.js'
import { authenticateClient, type CredentialParams } from './client-auth.js'
import { addressKey } from './rate-limits.js'

interface OAuthBody extends CredentialParams { token: string, token_type_hint?: string }

const INACTIVE = Object.freeze({ active: false })

/** The client a token was issued to: `client_id` (RFC 9068), else `azp` (OpenID Connect). */
function clientOf (claims: Claims): string | undefined {
  if (typeof claims.client_id === 'string') return claims.client_id
  return typeof claims.azp === 'string' ? claims.azp : undefined
}

/**
 * RFC 7662 section 2.2 response for a usable token. Optional members are
 * omitted when the token has no value for them, never invented. token_type is
 * the RFC 6749 section 7.1 type of an access token; a refresh token has none,
 * so it is told apart by token_use.
 */
function introspection (claims: Claims): Record<string, unknown> {
  const scope = scopesOf(claims).join(' ')
  const clientId = clientOf(claims)
  const refresh = isRefreshToken(claims)
  return {
    active: true,
    sub: claims.sub,
    jti: claims.jti,
    exp: claims.exp,
    iat: claims.iat,
    ...(claims.nbf !== undefined && { nbf: claims.nbf }),
    ...(claims.iss !== undefined && { iss: claims.iss }),
    ...(claims.aud !== undefined && { aud: claims.aud }),
    ...(claims.sid !== undefined && { sid: claims.sid }),
    ...(scope !== '' && { scope }),
    ...(clientId !== undefined && { client_id: clientId }),
    // RFC 8705 §3.2 (and RFC 9449 §6.2): the binding, so a resource server can check it.
    ...(claims.cnf !== undefined && { cnf: confirmationClaim(claims.cnf) }),
    ...(!refresh && { token_type: 'Bearer' }),
    token_use: refresh ? 'refresh' : 'access'
  }
}

export interface OAuthOptions {
  readonly authenticator: Authenticator
  readonly revoker: Revoker
  readonly security: SecuritySink
  readonly metrics: GatewayMetrics
  readonly introspectionClients: readonly IntrospectionClient[]
  readonly maxTokenBytes: number
}

/**
 * RFC 7662 /oauth/introspect and RFC 7009 /oauth/revoke for clients of
 * INTROSPECTION_CLIENTS, authenticated with client_secret_basic or
 * client_secret_post. token_type_hint is accepted and only ever a hint: both
 * types are tried.
 */
export const oauthRoutes: FastifyPluginAsync<OAuthOptions> = async (app, { authenticator, revoker, security, metrics, introspectionClients, maxTokenBytes }) => {
  const limits = app.rateLimits
  const text = (maxLength: number): object => ({ type: 'string', minLength: 1, maxLength })
  const schema = objectBody({
    token: text(maxTokenBytes * 2),
    token_type_hint: { type: 'string', maxLength: 64 },
    client_id: text(512),
    client_secret: text(1024)
  }, ['token'])
  treatMissingBodyAsEmpty(app)

  /** The authenticated client, or null once a refusal (400, 401 or 429) has been sent. */
  async function client (endpoint: string, request: FastifyRequest<{ Body: OAuthBody }>, reply: FastifyReply): Promise<IntrospectionClient | null> {
    const address = addressKey(request)
    if (!(await limits.oauthPerAddress.hit(request, reply, address))) return null
    const auth = authenticateClient(request.headers.authorization, request.body, introspectionClients)
    // Failures are budgeted per address and claimed client id: guessing one client's secret from one
    // address stops there (past the budget even the right secret waits for the window), and other
    // clients at that address keep working.
    const failureKey = `${address}\n${auth.ok ? auth.client.id : auth.presentedId}`
    if (!(await limits.clientAuthFailures.check(request, reply, failureKey))) {
      metrics.clientAuthFailures.inc({ endpoint, reason: 'rate_limited' })
      return null
    }
    if (auth.ok) return auth.client
    metrics.clientAuthFailures.inc({ endpoint, reason: auth.failure })
    if (await limits.clientAuthFailures.hit(request, reply, failureKey)) {
      sendFailure(reply, auth.failure === 'multiple_methods' ? Failures.CLIENT_AUTH_MULTIPLE : Failures.CLIENT_UNAUTHORIZED)
    }
    return null
  }

  app.post<{ Body: OAuthBody }>('/oauth/introspect', { schema }, async (request, reply) => {
    if (await client('introspect', request, reply) === null) return reply
    reply.header('cache-control', 'no-store')
    const token = request.body.token
    const access = await authenticator.fromToken(token, 'access')
    const auth = access.ok || access.failure !== Failures.TOKEN_WRONG_TYPE ? access : await authenticator.fromToken(token, 'refresh')
    // RFC 7662 section 2.1: any authenticated resource server may introspect any token.
    if (auth.ok) return introspection(auth.claims)
    if (auth.failure === Failures.STORE_UNAVAILABLE) return sendFailure(reply, auth.failure)
    return INACTIVE
  })

  app.post<{ Body: OAuthBody }>('/oauth/revoke', { schema }, async (request, reply) => {
    const caller = await client('revoke', request, reply)
    if (caller === null) return reply
    const verified = await authenticator.verifyOnly(request.body.token)
    // RFC 7009 section 2.2: invalid or unknown tokens still get 200.
    if (!verified.ok) return reply.code(200).send()
    const claims = verified.claims
    // RFC 7009 section 2.1: the server verifies the token was issued to the client asking;
    // only REVOCATION_PRIVILEGED_CLIENTS may revoke other clients' (and user) tokens.
    if (!caller.privileged && clientOf(claims) !== caller.id) return sendFailure(reply, Failures.TOKEN_NOT_CLIENTS)
    // The marks belong to the token's own issuer: the same jti of another issuer is another token.
    const issuer = issuerOfToken(claims)
    await revoker.token(issuer, claims.jti, claims.exp, 'token_revoked')
    // Revoking a refresh token ends its grant, access tokens included (section 2.1).
    if (isRefreshToken(claims)) await revoker.session(issuer, sessionOf(claims), 'token_revoked')
    security.audit({ event_type: 'token_revoked', user_id: claims.sub, iss: issuer, jti: claims.jti, reason: 'rfc7009', ip: request.ip, actor: `client:${caller.id}`, request_id: request.id })
    return reply.code(200).send()
  })
}
