import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'

function raw (status: number, description: string): string {
  const body = JSON.stringify({ error: 'invalid_request', error_description: description })
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${body.length}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`
}

// Built once: these answers never depend on the request.
const TIMEOUT = raw(408, 'The request was not received in time')
const HEADERS_TOO_LARGE = raw(431, 'The request headers are too large')
const MALFORMED = raw(400, 'The request is not valid HTTP')

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
