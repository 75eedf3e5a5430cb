import type { FastifyPluginAsync } from 'fastify'
import type { GatewayContext } from '../context.js'
import { authorize } from '../http/authorize.js'
import { sendFailure } from '../http/failure-reply.js'
import { identityHeaders } from '../http/identity.js'
import { CONFLICTING_ORIGINAL, originalRequest } from '../http/original-request.js'

/**
 * Forward-auth for nginx auth_request and Traefik ForwardAuth. An allow is an
 * empty 200: nginx drops its keep-alive connection to an auth endpoint whose
 * answer has a body, which halves throughput.
 */
export const verifyRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  // The decision never reads a body: nginx passes the original Content-Type
  // (without the body), which must not turn into a 415.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })

  // A proxy missing from TRUSTED_PROXIES silently loses public paths and access
  // rules: say so once, without the header values.
  let warnedUntrusted = false

  app.all(`${ctx.config.authPrefix}/verify`, async (request, reply) => {
    const trusted = ctx.isTrustedProxy(request.socket)
    if (!trusted && !warnedUntrusted && (request.headers['x-forwarded-uri'] !== undefined || request.headers['x-original-uri'] !== undefined)) {
      warnedUntrusted = true
      request.log.warn({ peer: request.socket.remoteAddress }, 'X-Forwarded-Uri/X-Original-URI from a peer outside TRUSTED_PROXIES ignored: public paths and access rules do not apply to its requests')
    }
    const original = originalRequest(request, trusted)
    if (original === 'conflict') return sendFailure(reply, CONFLICTING_ORIGINAL)
    const decision = await authorize(ctx, request, original?.method ?? request.method, original?.path ?? null)
    if (decision.kind === 'denied') return sendFailure(reply, decision.failure, decision.scope)
    if (decision.kind === 'allowed') reply.headers(identityHeaders(decision.claims))
    reply.header('cache-control', 'no-store')
    return reply.code(200).send()
  })
}
