import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { GatewayContext } from '../context.js'
import { Failures } from '../errors.js'
import { sendFailure } from '../http/failure-reply.js'
import type { Claims } from '../tokens/claims.js'
import { isRefreshToken, scopesOf, sessionOf } from '../tokens/claims.js'
import { authenticateClient } from './client-auth.js'
import { storeWrite } from './store-write.js'

interface OAuthBody { token: string, token_type_hint?: string }

const INACTIVE = Object.freeze({ active: false })

/** RFC 7662 introspection response for a usable token. */
function introspection (claims: Claims, clientId: string): Record<string, unknown> {
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
    scope: scopesOf(claims).join(' '),
    client_id: typeof claims.client_id === 'string' ? claims.client_id : clientId,
    token_type: isRefreshToken(claims) ? 'refresh_token' : 'access_token'
  }
}

/**
 * RFC 7662 /oauth/introspect and RFC 7009 /oauth/revoke for resource servers
 * and clients authenticated with HTTP Basic against INTROSPECTION_CLIENTS.
 * token_type_hint is accepted and only ever a hint: both types are tried.
 */
export const oauthRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  const { config } = ctx
  const schema = {
    body: {
      type: 'object',
      required: ['token'],
      properties: {
        token: { type: 'string', minLength: 1, maxLength: config.jwt.maxTokenBytes * 2 },
        token_type_hint: { type: 'string', maxLength: 64 }
      }
    }
  }

  function client (request: FastifyRequest, reply: FastifyReply): string | null {
    const id = authenticateClient(request.headers.authorization, config.introspectionClients)
    if (id === null) sendFailure(reply, Failures.CLIENT_UNAUTHORIZED)
    return id
  }

  app.post<{ Body: OAuthBody }>('/oauth/introspect', { schema }, async (request, reply) => {
    const clientId = client(request, reply)
    if (clientId === null) return reply
    reply.header('cache-control', 'no-store')
    const token = request.body.token
    const access = await ctx.authenticator.fromToken(token, 'access')
    const auth = access.ok || access.failure !== Failures.TOKEN_WRONG_TYPE ? access : await ctx.authenticator.fromToken(token, 'refresh')
    if (auth.ok) return introspection(auth.claims, clientId)
    if (auth.failure === Failures.STORE_UNAVAILABLE) return sendFailure(reply, auth.failure)
    return INACTIVE
  })

  app.post<{ Body: OAuthBody }>('/oauth/revoke', { schema }, async (request, reply) => {
    const clientId = client(request, reply)
    if (clientId === null) return reply
    const verified = await ctx.authenticator.verifyOnly(request.body.token)
    // RFC 7009 section 2.2: invalid or unknown tokens still get 200.
    if (!verified.ok) return reply.code(200).send()
    const claims = verified.claims
    await storeWrite(async () => {
      await ctx.revoker.token(claims.jti, claims.exp)
      // Revoking a refresh token ends its grant, access tokens included (section 2.1).
      if (isRefreshToken(claims)) await ctx.revoker.session(sessionOf(claims))
    })
    ctx.security.audit({ event_type: 'token_revoked', user_id: claims.sub, jti: claims.jti, reason: 'rfc7009', ip: request.ip, actor: `client:${clientId}`, request_id: request.id })
    return reply.code(200).send()
  })
}
