import replyFrom from '@fastify/reply-from'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { GatewayContext } from '../context.js'
import { Failures, type Failure } from '../errors.js'
import { authorize } from '../http/authorize.js'
import { sendFailure } from '../http/failure-reply.js'
import { IDENTITY_HEADERS, identityHeaders } from '../http/identity.js'
import { pathOf } from '../http/paths.js'
import type { Claims } from '../tokens/claims.js'
import { stripHopByHop, type Headers } from './hop-by-hop.js'

declare module 'fastify' {
  interface FastifyRequest {
    tokengateClaims?: Claims
  }
}

const TIMEOUT_CODES = new Set(['FST_REPLY_FROM_GATEWAY_TIMEOUT', 'FST_REPLY_FROM_TIMEOUT', 'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

function rewriteRequestHeaders (claims: Claims | undefined, headers: Headers): Headers {
  for (const name of IDENTITY_HEADERS) delete headers[name]
  stripHopByHop(headers)
  return claims === undefined ? headers : Object.assign(headers, identityHeaders(claims))
}

function upstreamFailure (error: Error & { code?: string }): Failure {
  return error.code !== undefined && TIMEOUT_CODES.has(error.code) ? Failures.UPSTREAM_TIMEOUT : Failures.UPSTREAM_UNAVAILABLE
}

/**
 * Reverse proxy: every route not served by tokengate is authenticated (unless
 * public) before the body is read, then streamed to UPSTREAM_URL with undici.
 * Registered in its own encapsulated context so its raw-body parser does not
 * touch the token routes.
 */
export const proxyRoutes: FastifyPluginAsync<{ ctx: GatewayContext, upstream: URL }> = async (app, { ctx, upstream }) => {
  await app.register(replyFrom, {
    base: upstream.origin,
    // reply-from would log every request at info, with its raw URL (query strings can carry secrets).
    disableRequestLogging: true,
    undici: {
      connections: 128,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: ctx.config.upstreamTimeoutMs,
      bodyTimeout: ctx.config.upstreamTimeoutMs
    }
  })

  // Bodies pass through untouched, as streams: the parsed "body" is the payload stream itself.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })

  app.addHook('onRequest', async (request, reply) => {
    const decision = await authorize(ctx, request, request.method, pathOf(request.url))
    if (decision.kind === 'denied') return sendFailure(reply, decision.failure, decision.scope)
    if (decision.kind === 'allowed') request.tokengateClaims = decision.claims
  })

  const basePath = upstream.pathname.replace(/\/$/, '')
  // Built once: the same options object serves every proxied request.
  const fromOptions = {
    rewriteRequestHeaders: (req: FastifyRequest, headers: Headers) => rewriteRequestHeaders(req.tokengateClaims, headers),
    rewriteHeaders: (headers: Headers) => stripHopByHop(headers),
    onError: (failed: FastifyReply, { error }: { error: Error & { code?: string } }) => {
      failed.log.warn({ code: error.code, cause: (error.cause as Error | undefined)?.message }, 'upstream request failed')
      sendFailure(failed, upstreamFailure(error))
    }
  } as Parameters<FastifyReply['from']>[1]
  const handler = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    // Without a content-type no parser runs; the raw request is still the body to stream.
    if (request.body === undefined && request.method !== 'GET' && request.method !== 'HEAD') request.body = request.raw
    // The path only (checked by authorize); reply-from appends the query string untouched.
    try {
      return reply.from(basePath + pathOf(request.url), fromOptions)
    } catch {
      // reply-from percent-decodes the path and refuses dot segments: the request is malformed, not a fault.
      return sendFailure(reply, Failures.PATH_AMBIGUOUS)
    }
  }
  app.all('/', handler)
  app.all('/*', handler)
}
