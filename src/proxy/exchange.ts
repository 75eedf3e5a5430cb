import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'
import type { Dispatcher } from 'undici'
import { withoutHopByHop } from './hop-by-hop.js'
import { sendUpstreamFailure } from './upstream-failure.js'

const kExchange = Symbol('tokengate.exchange')

type Tracked = ServerResponse & { [kExchange]?: UpstreamExchange }

// Shared listeners (`this` is the response): no closure per request.
function onClientClose (this: Tracked): void {
  this[kExchange]?.clientClosed()
}
function onClientDrain (this: Tracked): void {
  this[kExchange]?.resume()
}

/**
 * One proxied request as an undici dispatch handler: the upstream response is
 * written straight to the client's socket, chunk by chunk, with backpressure
 * both ways, and without the stream wrappers a Readable in between would add.
 * The response is written on reply.raw without hijacking, so Fastify's
 * onResponse hooks (upstream metrics) and graceful close still apply.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  private readonly reply: FastifyReply
  private readonly res: Tracked
  private controller: Dispatcher.DispatchController | null = null
  private done = false

  constructor (reply: FastifyReply) {
    this.reply = reply
    this.res = reply.raw
    this.res[kExchange] = this
    this.res.on('close', onClientClose)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.controller = controller
    // The client left while the request waited for a pooled connection.
    if (this.res.destroyed) controller.abort(clientGone())
  }

  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx: informational, the final response follows.
    if (statusCode < 200) return
    const passed = withoutHopByHop(headers)
    // The request body was not read to its end: this client connection cannot carry another request.
    if (!this.reply.request.raw.complete) passed.connection = 'close'
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
    this.done = true
    this.res.end()
  }

  onResponseError (_controller: Dispatcher.DispatchController, error: Error): void {
    this.done = true
    if (this.res.destroyed) return
    // Part of the response is out: cut the connection so the client sees a truncated transfer, never a complete one.
    if (this.res.headersSent) this.res.destroy()
    else sendUpstreamFailure(this.reply, error)
  }

  resume (): void {
    this.controller?.resume()
  }

  /** The client connection closed: stop the upstream request too (an upload in progress, a download nobody reads). */
  clientClosed (): void {
    if (!this.done) this.controller?.abort(clientGone())
  }
}

function clientGone (): Error {
  return new Error('the client closed the connection')
}
