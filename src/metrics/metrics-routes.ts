import { createServer, type Server } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { GatewayMetrics } from './metrics.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** performance.now() when a proxied request was handed to the upstream. */
    tokengateForwardedAt?: number
  }
}

/** The proxy's catch-all patterns: a request that reaches its handler goes upstream. */
const PROXY_ROUTES = new Set(['/', '/*'])

function statusClass (status: number): string {
  return `${Math.floor(status / 100)}xx`
}

function isForwarded (request: FastifyRequest, proxying: boolean): boolean {
  return proxying && PROXY_ROUTES.has(request.routeOptions.url ?? '')
}

/**
 * Upstream latency and status by route pattern (never the raw path). A
 * request denied by the proxy's onRequest hook never reaches preHandler, so
 * only forwarded requests are measured.
 */
export const upstreamMetrics = fp<{ metrics: GatewayMetrics, proxying: boolean }>(async (app, { metrics, proxying }) => {
  if (!proxying) return
  app.addHook('preHandler', async (request) => {
    if (isForwarded(request, proxying)) request.tokengateForwardedAt = performance.now()
  })
  app.addHook('onResponse', async (request, reply) => {
    const started = request.tokengateForwardedAt
    if (started === undefined) return
    const labels = { route: request.routeOptions.url ?? 'unmatched', status_class: statusClass(reply.statusCode) }
    metrics.upstreamDuration.observe(labels, (performance.now() - started) / 1000)
    metrics.upstreamResponses.inc(labels)
  })
}, { name: 'tokengate-upstream-metrics' })

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/**
 * GET /metrics on the main port, or (METRICS_PORT) on a separate listener
 * started with the gateway and closed with it; then the main port has none.
 */
export async function registerMetricsEndpoint (app: FastifyInstance, metrics: GatewayMetrics, port: number | null, host: string): Promise<void> {
  if (port === null) {
    app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', CONTENT_TYPE)
      return await metrics.text()
    })
    return
  }
  let server: Server | null = null
  app.addHook('onListen', async () => {
    if (server !== null) return
    server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found","error_description":"No such route"}')
        return
      }
      metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(text),
        () => res.writeHead(500).end()
      )
    })
    const listening = server
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject)
      listening.listen(port, host, () => { listening.off('error', reject); resolve() })
    })
    app.log.info({ port }, 'metrics listening on METRICS_PORT')
  })
  app.addHook('onClose', async () => {
    const listening = server
    if (listening === null) return
    listening.closeAllConnections()
    await new Promise((resolve) => listening.close(resolve))
  })
}
