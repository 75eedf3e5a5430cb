import { Pool, type Dispatcher } from 'undici'

const KEEP_ALIVE_MS = 30_000
// undici's own default; a shorter UPSTREAM_TIMEOUT_MS bounds connecting too.
const MAX_CONNECT_MS = 10_000

export interface UpstreamPoolOptions {
  readonly timeoutMs: number
  readonly connections: number
  readonly maxPending: number
  /** Connections that streamed uploads may hold at once. */
  readonly uploadConnections: number
}

/**
 * The one connection pool to UPSTREAM_URL's origin, built at start-up, with a
 * bounded queue: undici's Pool queues without limit, so requests are counted
 * here from dispatch until undici lets go of them, and past `connections +
 * maxPending` a request is refused at once (Envoy's max_pending_requests)
 * instead of waiting behind clients that hold every connection. Streamed
 * uploads (bodies too large to buffer) run at the client's pace, so they may
 * hold only `uploadConnections` of the connections: slow uploaders cannot
 * take the connections every other request needs.
 * UPSTREAM_TIMEOUT_MS bounds upstream silence: until the response headers
 * (counted by undici from the end of the request body), and between body
 * chunks; never a response that keeps flowing.
 */
export class UpstreamPool {
  readonly #pool: Pool
  readonly #capacity: number
  readonly #uploadCapacity: number
  #active = 0
  #uploads = 0

  constructor (origin: string, { timeoutMs, connections, maxPending, uploadConnections }: UpstreamPoolOptions) {
    this.#capacity = connections + maxPending
    this.#uploadCapacity = uploadConnections
    this.#pool = new Pool(origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_MS,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: Math.min(timeoutMs, MAX_CONNECT_MS) }
    })
  }

  /** Every connection is busy and the queue is full. */
  get full (): boolean {
    return this.#active >= this.#capacity
  }

  /**
   * False, without dispatching, when the pool is full (or, for a streamed
   * upload, its share is); otherwise the handler must call release() with
   * the same `upload` once undici is done with it.
   */
  dispatch (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, upload: boolean): boolean {
    if (this.#active >= this.#capacity || (upload && this.#uploads >= this.#uploadCapacity)) return false
    this.#active++
    if (upload) this.#uploads++
    this.#pool.dispatch(options, handler)
    return true
  }

  release (upload: boolean): void {
    this.#active--
    if (upload) this.#uploads--
  }

  async destroy (): Promise<void> {
    await this.#pool.destroy()
  }
}
