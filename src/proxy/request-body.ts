import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { Failures } from '../errors.js'
import type { UpstreamExchange } from './exchange.js'

const kBody = Symbol('tokengate.body')
const EMPTY = Buffer.alloc(0)

type Tracked = IncomingMessage & { [kBody]?: ClientBody }
type TrackedResponse = ServerResponse & { [kBody]?: ClientBody }

// Shared listeners (`this` is the request or the response): no closure per request.
function onData (this: Tracked, chunk: Buffer): void {
  this[kBody]?.data(chunk)
}
function onEnd (this: Tracked): void {
  this[kBody]?.end()
}
function onClose (this: TrackedResponse): void {
  this[kBody]?.closed()
}
function onIdle (body: ClientBody): void {
  body.idle()
}

export interface BodyLimits {
  /** Bodies up to this size are sent as one buffer; 0 streams every body. */
  readonly bufferBytes: number
  readonly idleMs: number
}

/**
 * A proxied request's body on its way upstream. Up to `bufferBytes` are read
 * before the exchange starts (nginx's proxy_request_buffering): a body that
 * ends within them goes upstream as one buffer, so a client trickling a small
 * body holds none of the pooled upstream connections; a larger one is then
 * streamed, its first bytes put back in front of the rest. Throughout, a
 * client silent for `idleMs` while tokengate reads (nginx's
 * client_body_timeout) is cut off: 408, and the upstream request is aborted.
 */
export class ClientBody {
  private readonly req: Tracked
  private readonly exchange: UpstreamExchange
  private readonly options: Dispatcher.DispatchOptions
  private readonly bufferBytes: number
  private readonly timer: NodeJS.Timeout
  /** Null once the body streams (or was cut). */
  private chunks: Buffer[] | null = []
  private size = 0

  /** Reads `req`'s body and starts `exchange` with `options` (whose body it sets) once it may. */
  constructor (req: IncomingMessage, res: ServerResponse, exchange: UpstreamExchange, options: Dispatcher.DispatchOptions, { bufferBytes, idleMs }: BodyLimits) {
    this.req = req
    this.exchange = exchange
    this.options = options
    this.bufferBytes = bufferBytes
    this.timer = setTimeout(onIdle, idleMs, this)
    this.req[kBody] = this
    // Paused before the listener is added, so that nothing flows until undici reads (streamed) or it is resumed below.
    req.pause()
    req.on('data', onData)
    req.once('end', onEnd)
    // The answer is complete (or the connection gone): whatever is left of the body will never be read.
    const tracked: TrackedResponse = res
    tracked[kBody] = this
    res.once('close', onClose)
    if (bufferBytes === 0) this.stream()
    else req.resume()
  }

  data (chunk: Buffer): void {
    this.timer.refresh()
    if (this.chunks === null) return
    this.chunks.push(chunk)
    this.size += chunk.length
    if (this.size > this.bufferBytes) this.stream()
  }

  end (): void {
    clearTimeout(this.timer)
    const chunks = this.chunks
    if (chunks === null) {
      this.exchange.bodyComplete()
      return
    }
    this.chunks = null
    this.options.body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.size)
    this.exchange.start(this.options, false)
  }

  /** The exchange is over: nothing left to time. */
  closed (): void {
    clearTimeout(this.timer)
  }

  idle (): void {
    // Paused: tokengate is not reading (waiting for a pooled connection, or the upstream is slow to take the upload); the client is not to blame.
    if (this.chunks === null && this.req.readableFlowing === false) {
      this.timer.refresh()
      return
    }
    this.chunks = null
    this.exchange.cut(Failures.BODY_TIMEOUT)
  }

  /** Hands the rest of the body to undici as a stream, the bytes read so far first. */
  private stream (): void {
    const chunks = this.chunks
    this.chunks = null
    this.req.pause()
    if (chunks !== null && chunks.length > 0) this.req.unshift(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.size))
    this.options.body = this.req
    this.exchange.start(this.options, true)
  }
}

/**
 * Sends `options` upstream through `exchange` with the body of `req`. A body
 * that arrived whole with the head (the common small request) is taken as
 * it is: no timer, no listeners.
 */
export function forwardBody (req: IncomingMessage, res: ServerResponse, exchange: UpstreamExchange, options: Dispatcher.DispatchOptions, limits: BodyLimits): void {
  if (req.complete && limits.bufferBytes > 0 && req.readableLength <= limits.bufferBytes) {
    options.body = (req.read() as Buffer | null) ?? EMPTY
    exchange.start(options, false)
    return
  }
  // eslint-disable-next-line no-new -- it lives on as the request's body listener
  new ClientBody(req, res, exchange, options, limits)
}
