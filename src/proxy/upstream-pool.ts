import { Pool } from 'undici'

const CONNECTIONS = 128
const KEEP_ALIVE_MS = 30_000
// undici's own default; a shorter UPSTREAM_TIMEOUT_MS bounds connecting too.
const MAX_CONNECT_MS = 10_000

/**
 * The one connection pool to UPSTREAM_URL's origin, built at start-up.
 * UPSTREAM_TIMEOUT_MS bounds upstream silence: until the response headers,
 * and between body chunks; never a response that keeps flowing.
 */
export function createUpstreamPool (origin: string, timeoutMs: number): Pool {
  return new Pool(origin, {
    connections: CONNECTIONS,
    pipelining: 1,
    keepAliveTimeout: KEEP_ALIVE_MS,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: Math.min(timeoutMs, MAX_CONNECT_MS) }
  })
}
