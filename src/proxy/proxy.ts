import type { Socket } from 'node:net'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import { Failures, isFailure, type Failure } from '../errors.js'
import type { Authorizer } from '../decision/authorize.js'
import type { IdentityHeaders } from '../decision/identity.js'
import { sendContinue } from '../server/expect-continue.js'
import { canonicalPath, pathOf } from '../decision/paths.js'
import { hasQueryOverride } from '../decision/query-override.js'
import type { GatewayMetrics } from '../metrics/metrics.js'
import type { RefusalReport } from '../server/refusal-report.js'
import { UpstreamExchange } from './exchange.js'
import { hasBody, upstreamHeaders } from './forward-headers.js'
import { refuse } from './refusal.js'
import { forwardBody, type BodyLimits } from './request-body.js'
import { upstreamTarget } from './target.js'
import { UpstreamPool, type UpstreamPoolOptions } from './upstream-pool.js'
import type { TraceSpan, Tracing } from '../tracing/tracing.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The upstream request target, built once by the proxy's onRequest hook from the normalised path. */
    tokengateTarget: string
    /** The identity headers of an allowed token, from the decision; null on a public path. */
    tokengateIdentity: IdentityHeaders | null
    /** performance.now() when the request was handed to the upstream (0: it was not). */
    tokengateForwardedAt: number
    /** The decision's span when tracing is on (decision-span.ts): the upstream exchange is its child. */
    tokengateSpan?: TraceSpan | null
  }
}

function statusClass (status: number): string {
  return `${Math.floor(status / 100)}xx`
}

export interface ProxyOptions {
  readonly authorize: Authorizer
  readonly isTrustedProxy: (socket: Socket) => boolean
  readonly upstream: Readonly<URL>
  readonly pool: UpstreamPoolOptions
  readonly bodyLimits: BodyLimits
  readonly metrics: GatewayMetrics
  readonly refusals: RefusalReport
  /** OTEL_*: the upstream exchange's span, and traceparent sent upstream; undefined when tracing is off. */
  readonly tracing?: Tracing
  /** DPOP=true without DPOP_FORWARD_PROOF: the DPoP proof header stays here (docs/dpop.md). */
  readonly dropDpopProof?: boolean
  /** DPOP_NONCE=true: an allow may carry a fresh DPoP-Nonce for the client (docs/dpop.md). */
  readonly dpopNonces?: boolean
}

/**
 * Reverse proxy: every route not served by tokengate is authenticated (unless
 * public) before the body is read, then sent to UPSTREAM_URL over one
 * undici pool (a small body buffered first, a larger one streamed). Registered in its own encapsulated context so its
 * pass-through body parser does not touch the token routes.
 */
export const proxyRoutes: FastifyPluginAsync<ProxyOptions> = async (app, { authorize, isTrustedProxy, upstream, pool: poolOptions, bodyLimits, metrics, refusals, tracing, dropDpopProof = false, dpopNonces = false }) => {
  const upstreamTimeoutMs = poolOptions.timeoutMs
  const pool = new UpstreamPool(upstream.origin, poolOptions)
  // Fastify runs this after the server has closed, i.e. after in-flight responses drained.
  app.addHook('onClose', async () => { await pool.destroy() })

  // Bodies are never parsed here: the handler streams request.raw itself.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  app.decorateRequest('tokengateTarget', '')
  app.decorateRequest('tokengateIdentity', null)
  if (tracing !== undefined) app.decorateRequest('tokengateSpan', null)

  // Upstream latency and status class (never the path). A request
  // refused by the onRequest hook below never reaches preHandler: only forwarded requests count.
  app.addHook('preHandler', async (request) => { request.tokengateForwardedAt = performance.now() })
  app.addHook('onResponse', async (request, reply) => {
    if (request.tokengateForwardedAt === 0) return
    const cells = metrics.upstreamCells(statusClass(reply.statusCode))
    cells.duration.observe((performance.now() - request.tokengateForwardedAt) / 1000)
    cells.responses.inc()
  })

  // Every series the upstream alert rule reads starts at 0 (a series born at 1 hides its first 5xx from rate()).
  for (const statusClass of ['2xx', '3xx', '4xx', '5xx']) metrics.upstreamCells(statusClass)

  const basePath = upstream.pathname.replace(/\/$/, '')
  // Refused before the decision: counted and logged (rate-limited), so that a scanner probing spellings shows.
  const refusedEarly = (request: FastifyRequest, reply: FastifyReply, failure: Failure, raw: string): FastifyReply => {
    refusals.refused('proxy', failure, { ip: request.ip, path: raw })
    return refuse(reply, failure, undefined, bodyLimits.bufferBytes)
  }
  app.addHook('onRequest', async (request, reply) => {
    const raw = pathOf(request.url)
    // Origin-form only: an absolute-form target such as `http://other.host/x` would name another host.
    if (raw.charCodeAt(0) !== 47 /* / */) return refusedEarly(request, reply, Failures.BAD_REQUEST, raw)
    // One path, decided once: what is authorised below is what the upstream receives.
    const path = canonicalPath(raw)
    if (isFailure(path)) return refusedEarly(request, reply, path, raw)
    if (hasQueryOverride(request.url)) return refusedEarly(request, reply, Failures.METHOD_OVERRIDE, raw)
    request.tokengateTarget = upstreamTarget(basePath, request.url, raw, path)
    const decision = await authorize(request, request.method, path, hasBody(request.raw))
    if (decision.kind === 'denied') return refuse(reply, decision.failure, decision.scope, bodyLimits.bufferBytes, decision.dpopNonce)
    if (decision.kind === 'allowed') {
      request.tokengateClaims = decision.claims
      request.tokengateIdentity = decision.identity.headers
      // On the reply: tokengate's own answers (502, 504) carry it, and the exchange copies it onto the upstream's.
      if (decision.dpopNonce !== undefined) reply.header('dpop-nonce', decision.dpopNonce)
    }
  })

  const host = upstream.host
  const forward = (request: FastifyRequest, reply: FastifyReply): void => {
    const raw = request.raw
    // Checked before the body is read (and again when the exchange starts): a full queue costs the client no upload.
    if (pool.full) {
      refuse(reply, Failures.UPSTREAM_BUSY, undefined, bodyLimits.bufferBytes)
      return
    }
    const exchange = new UpstreamExchange(reply, pool, upstreamTimeoutMs)
    if (dpopNonces) exchange.dpopNonce = reply.getHeader('dpop-nonce') as string | undefined
    const trusted = isTrustedProxy(raw.socket)
    const headers = upstreamHeaders(raw, request.tokengateIdentity, host, trusted, request.id)
    if (dropDpopProof && headers.dpop !== undefined) delete headers.dpop
    if (tracing !== undefined) traceExchange(tracing, request, headers, trusted, exchange)
    const options: Dispatcher.DispatchOptions = {
      method: request.method,
      path: request.tokengateTarget,
      headers,
      body: null
    }
    if (!hasBody(raw)) return exchange.start(options, false)
    // Allowed: only now is the client invited to send its body.
    sendContinue(reply.raw)
    forwardBody(raw, reply.raw, exchange, options, bodyLimits)
  }
  app.all('/', forward)
  app.all('/*', forward)
}

/**
 * The exchange's span, a child of the decision's, and its traceparent in
 * place of whatever the client sent: the upstream continues tokengate's
 * trace. A client's baggage is dropped unless a trusted proxy passed it.
 */
function traceExchange (tracing: Tracing, request: FastifyRequest, headers: Record<string, string | string[]>, trusted: boolean, exchange: UpstreamExchange): void {
  const parent = request.tokengateSpan
  if (parent === undefined || parent === null) return
  const span = tracing.childOf(parent, 'tokengate.upstream', { 'http.request.method': request.method, 'tokengate.request_id': request.id }, true)
  if (!trusted) delete headers.baggage
  tracing.inject(span, headers)
  exchange.traced(span)
}
