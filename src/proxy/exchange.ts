import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'
import type { Dispatcher } from 'undici'
import { Failures, type Failure } from '../errors.js'
import { withoutHopByHop } from './hop-by-hop.js'
import { refuse } from './refusal.js'
import { sendUpstreamFailure } from './upstream-failure.js'
import type { UpstreamPool } from './upstream-pool.js'
import type { TraceSpan } from '../tracing/tracing.js'

const kExchange = Symbol('tokengate.exchange')

type Tracked = ServerResponse & { [kExchange]?: UpstreamExchange }

// Shared listeners (`this` is the response): no closure per request.
function onClientClose (this: Tracked): void {
  this[kExchange]?.clientClosed()
}
function onClientDrain (this: Tracked): void {
  this[kExchange]?.resume()
}
function onDeadline (exchange: UpstreamExchange): void {
  exchange.deadlinePassed()
}

/**
 * One proxied request as an undici dispatch handler: the upstream response is
 * written straight to the client's socket, chunk by chunk, with backpressure
 * both ways, and without the stream wrappers a Readable in between would add.
 * The response is written on reply.raw without hijacking, so Fastify's
 * onResponse hooks (upstream metrics) and graceful close still apply.
 *
 * One timer per exchange holds UPSTREAM_TIMEOUT_MS from dispatch to the
 * response headers, time spent waiting for a pooled connection and connecting
 * included: undici's own headersTimeout starts only once a connection
 * carries the request.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  private readonly reply: FastifyReply
  private readonly req: IncomingMessage
  private readonly res: Tracked
  private readonly pool: UpstreamPool
  private readonly timeoutMs: number
  private controller: Dispatcher.DispatchController | null = null
  private deadline: NodeJS.Timeout | undefined
  /** undici is done with the request: its pool slot is released. */
  private settled = false
  /** The client has tokengate's own answer (timeout, body timeout): the upstream's is not wanted. */
  private answered = false
  /** The body streams at the client's pace (see UpstreamPool). */
  private upload = false
  /**
   * tokengate's DPoP-Nonce for the client (RFC 9449 §8.2), which replaces an upstream's own: the
   * proof's nonce is checked here first, and one proof carries one nonce.
   */
  dpopNonce: string | undefined = undefined
  /** The exchange's span when tracing is on: ended when undici is done or tokengate answered. */
  private span: TraceSpan | undefined = undefined

  constructor (reply: FastifyReply, pool: UpstreamPool, timeoutMs: number) {
    this.reply = reply
    this.req = reply.request.raw
    this.res = reply.raw
    this.pool = pool
    this.timeoutMs = timeoutMs
    this.res[kExchange] = this
    this.res.on('close', onClientClose)
  }

  traced (span: TraceSpan): void {
    this.span = span
  }

  /** Sends the request upstream (`upload`: its body streams from the client); a full pool answers 503 at once. */
  start (options: Dispatcher.DispatchOptions, upload: boolean): void {
    if (this.answered) return
    this.upload = upload
    this.deadline = setTimeout(onDeadline, this.timeoutMs, this)
    if (!this.pool.dispatch(options, this, upload)) {
      this.settled = true
      this.cut(Failures.UPSTREAM_BUSY)
    }
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.controller = controller
    // The client left, or was answered, while the request waited for a pooled connection.
    if (this.answered || this.res.destroyed) controller.abort(clientGone())
  }

  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx: informational, the final response follows.
    if (statusCode < 200) return
    clearTimeout(this.deadline)
    this.span?.set('http.response.status_code', statusCode)
    const passed = withoutHopByHop(headers)
    // Every answer names its request; an upstream that answers with its own id (it was sent ours) keeps it.
    passed['x-request-id'] ??= this.reply.request.id
    if (this.dpopNonce !== undefined) passed['dpop-nonce'] = this.dpopNonce
    // The request body was not read to its end: this client connection cannot carry another request.
    if (!this.req.complete) passed.connection = 'close'
    try {
      this.res.writeHead(statusCode, passed)
    } catch (err) {
      // A status or header value Node refuses to send: the upstream's fault, answered 502.
      controller.abort(err as Error)
    }
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.write(chunk)) return
    controller.pause()
    this.res.once('drain', onClientDrain)
  }

  onResponseEnd (): void {
    this.settle()
    this.res.end()
  }

  onResponseError (_controller: Dispatcher.DispatchController, error: Error): void {
    this.span?.fail(this.answered ? 'answered by tokengate' : 'upstream exchange failed')
    this.settle()
    if (this.answered || this.res.destroyed) return
    // Part of the response is out: cut the connection so the client sees a truncated transfer, never a complete one.
    if (this.res.headersSent) this.res.destroy()
    else sendUpstreamFailure(this.reply, error)
  }

  resume (): void {
    this.controller?.resume()
  }

  /** The client connection closed: stop the upstream request too (an upload in progress, a download nobody reads). */
  clientClosed (): void {
    clearTimeout(this.deadline)
    if (!this.settled) this.controller?.abort(clientGone())
  }

  /** The client's body has arrived to its end: the upstream now has UPSTREAM_TIMEOUT_MS to answer. */
  bodyComplete (): void {
    if (this.deadline !== undefined && !this.answered) this.deadline.refresh()
  }

  deadlinePassed (): void {
    // An upload in progress on a connection: the client's pace is bounded by CLIENT_BODY_TIMEOUT_MS, not this.
    if (this.controller !== null && !this.req.complete) this.deadline?.refresh()
    else this.cut(Failures.UPSTREAM_TIMEOUT)
  }

  /**
   * Ends the exchange with tokengate's own answer: the upstream request is
   * aborted (or, still queued, aborted as soon as undici starts it), the
   * client gets `failure`, or a cut connection once a response had begun.
   */
  cut (failure: Failure): void {
    if (this.answered) return
    this.answered = true
    clearTimeout(this.deadline)
    this.span?.fail(failure.reason)
    this.span?.end()
    if (!this.settled) this.controller?.abort(clientGone())
    // Gone, or the upstream's whole answer is already on its way.
    if (this.res.destroyed || this.res.writableEnded) return
    if (this.res.headersSent) this.res.destroy()
    else {
      // 503s and 408s come in floods under attack: debug only.
      if (failure === Failures.UPSTREAM_TIMEOUT) this.reply.log.warn({ reason: failure.reason }, 'upstream request failed')
      else this.reply.log.debug({ reason: failure.reason }, 'proxied request refused')
      refuse(this.reply, failure)
    }
  }

  private settle (): void {
    if (this.settled) return
    this.settled = true
    clearTimeout(this.deadline)
    this.span?.end()
    this.pool.release(this.upload)
  }
}

function clientGone (): Error {
  return new Error('the exchange ended on the client side')
}
