import type { Socket } from 'node:net'
import { Failures } from '../errors.js'
import { rawFailure } from './failure-reply.js'

// Built once: these answers never depend on the request.
const TIMEOUT = rawFailure(Failures.REQUEST_TIMEOUT)
const HEADERS_TOO_LARGE = rawFailure(Failures.HEADERS_TOO_LARGE)
const MALFORMED = rawFailure(Failures.HTTP_MALFORMED)

/**
 * Errors Node raises before a request exists (unparsable HTTP, oversized
 * headers, a head or body that arrives too slowly): our error format, then the
 * connection is closed.
 */
export function clientErrorHandler (error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  if (socket.writable) {
    socket.write(error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? TIMEOUT
      : error.code === 'HPE_HEADER_OVERFLOW' ? HEADERS_TOO_LARGE : MALFORMED)
  }
  socket.destroy()
}
