import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { GatewayContext } from '../context.js'
import { Failures } from '../errors.js'
import { authorize } from '../http/authorize.js'
import { sendFailure } from '../http/failure-reply.js'
import { normalisePath, pathOf } from '../http/paths.js'
import { UpstreamExchange } from './exchange.js'
import { hasBody, upstreamHeaders } from './forward-headers.js'
import { upstreamTarget } from './target.js'
import { createUpstreamPool } from './upstream-pool.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The upstream request target, built once by the proxy's onRequest hook from the normalised path. */
    tokengateTarget: string
  }
}

/**
 * Reverse proxy: every route not served by tokengate is authenticated (unless
 * public) before the body is read, then streamed to UPSTREAM_URL over one
 * undici pool. Registered in its own encapsulated context so its
 * pass-through body parser does not touch the token routes.
 */
export const proxyRoutes: FastifyPluginAsync<{ ctx: GatewayContext, upstream: Readonly<URL> }> = async (app, { ctx, upstream }) => {
  const pool = createUpstreamPool(upstream.origin, ctx.config.upstreamTimeoutMs)
  // Fastify runs this after the server has closed, i.e. after in-flight responses drained.
  app.addHook('onClose', async () => { await pool.destroy() })

  // Bodies are never parsed here: the handler streams request.raw itself.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  app.decorateRequest('tokengateTarget', '')

  const basePath = upstream.pathname.replace(/\/$/, '')
  app.addHook('onRequest', async (request, reply) => {
    const raw = pathOf(request.url)
    // Origin-form only: an absolute-form target such as `http://other.host/x` would name another host.
    if (raw.charCodeAt(0) !== 47 /* / */) return sendFailure(reply, Failures.BAD_REQUEST)
    // One path, decided once: what is authorised below is what the upstream receives.
    const path = normalisePath(raw)
    if (path === null) return sendFailure(reply, Failures.PATH_AMBIGUOUS)
    request.tokengateTarget = upstreamTarget(basePath, request.url, raw, path)
    const decision = await authorize(ctx, request, request.method, path)
    if (decision.kind === 'denied') return sendFailure(reply, decision.failure, decision.scope)
    if (decision.kind === 'allowed') request.tokengateClaims = decision.claims
  })

  const host = upstream.host
  const forward = (request: FastifyRequest, reply: FastifyReply): void => {
    const raw = request.raw
    pool.dispatch({
      method: request.method,
      path: request.tokengateTarget,
      headers: upstreamHeaders(raw, request.tokengateClaims, host, ctx.isTrustedProxy(raw.socket), request.id),
      body: hasBody(raw) ? raw : null
    }, new UpstreamExchange(reply))
  }
  app.all('/', forward)
  app.all('/*', forward)
}
