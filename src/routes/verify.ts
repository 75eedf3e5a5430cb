import type { FastifyPluginAsync } from 'fastify'
import type { GatewayContext } from '../context.js'
import { authorize } from '../http/authorize.js'
import { sendFailure } from '../http/failure-reply.js'
import { identityHeaders } from '../http/identity.js'
import { originalRequest } from '../http/original-request.js'

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
  app.all(`${ctx.config.authPrefix}/verify`, async (request, reply) => {
    const original = originalRequest(request, ctx.isTrustedProxy(request.socket))
    const decision = await authorize(ctx, request, original?.method ?? request.method, original?.path ?? null)
    if (decision.kind === 'denied') return sendFailure(reply, decision.failure, decision.scope)
    if (decision.kind === 'allowed') reply.headers(identityHeaders(decision.claims))
    reply.header('cache-control', 'no-store')
    return reply.code(200).send()
  })
}
