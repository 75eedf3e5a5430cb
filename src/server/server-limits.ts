import type { FastifyServerOptions } from 'fastify'
import { clientErrorHandler } from './client-errors.js'
import { frameworkErrors } from './error-handler.js'

// Node checks header and request deadlines on a timer (30 s by default); a
// deadline is only as sharp as that interval.
const MAX_CHECK_INTERVAL_MS = 1000

/** HEADERS_TIMEOUT_MS and REQUEST_TIMEOUT_MS (0: no limit). */
export interface ServerLimitOptions {
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
}

/**
 * Limits on what a client may hold open: the request head within
 * HEADERS_TIMEOUT_MS (Slowloris), the whole request within REQUEST_TIMEOUT_MS.
 * Neither applies to a response: a proxied download may stream for as long as
 * the upstream keeps sending (UPSTREAM_TIMEOUT_MS bounds silence there).
 */
export function serverLimits (config: ServerLimitOptions): Pick<FastifyServerOptions, 'requestTimeout' | 'frameworkErrors' | 'clientErrorHandler'> & { http: { headersTimeout: number, connectionsCheckingInterval: number } } {
  const request = config.requestTimeoutMs
  // Node refuses a head deadline later than the whole-request deadline.
  const headers = request > 0 ? Math.min(config.headersTimeoutMs, request) : config.headersTimeoutMs
  const shortest = request > 0 ? Math.min(headers, request) : headers
  return {
    requestTimeout: request,
    http: { headersTimeout: headers, connectionsCheckingInterval: Math.max(50, Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(shortest / 4))) },
    frameworkErrors,
    clientErrorHandler
  }
}
