import { createServer, type Server } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Failures } from '../errors.js'
import { writeFailure } from '../http/failure-reply.js'
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

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

function withHook (existing: unknown, hook: Hook): Hook[] {
  if (existing === undefined || existing === null) return [hook]
  return [...(Array.isArray(existing) ? existing : [existing]), hook]
}

/**
 * Upstream latency and status by route pattern (never the raw path), hooked
 * onto the proxy's catch-all routes only. A request denied by the proxy's
 * onRequest hook never reaches preHandler, so only forwarded requests count.
 */
export const upstreamMetrics = fp<{ metrics: GatewayMetrics }>(async (app, { metrics }) => {
  const forwarded: Hook = async (request) => {
    request.tokengateForwardedAt = performance.now()
  }
  const answered: Hook = async (request, reply) => {
    const started = request.tokengateForwardedAt
    if (started === undefined) return
    const cells = metrics.upstreamCells(request.routeOptions.url ?? 'unmatched', statusClass(reply.statusCode))
    cells.duration.observe((performance.now() - started) / 1000)
    cells.responses.inc()
  }
  app.addHook('onRoute', (route) => {
    if (!PROXY_ROUTES.has(route.url)) return
    route.preHandler = withHook(route.preHandler, forwarded)
    route.onResponse = withHook(route.onResponse, answered)
  })
}, { name: 'tokengate-upstream-metrics' })

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export type MetricsText = () => Promise<string>

/** A bare HTTP listener that answers GET /metrics only (METRICS_PORT). */
export async function listenMetricsServer (text: MetricsText, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      writeFailure(res, Failures.NOT_FOUND)
      return
    }
    text().then(
      (body) => res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(body),
      () => { writeFailure(res, Failures.INTERNAL) }
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  return server
}

export async function closeMetricsServer (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
}

export interface MetricsPlacement {
  /** METRICS_ON_MAIN_PORT: GET /metrics on the gateway's own port. */
  readonly onMainPort: boolean
  /** METRICS_PORT: a separate listener started with the gateway and closed with it. */
  readonly port: number | null
  readonly host: string
}

/**
 * GET /metrics where the configuration puts it. In proxy mode the main port
 * serves the proxy's clients, so by default /metrics there is the upstream's
 * path like any other (see METRICS_ON_MAIN_PORT).
 */
export async function registerMetricsEndpoint (app: FastifyInstance, text: MetricsText, { onMainPort, port, host }: MetricsPlacement): Promise<void> {
  if (onMainPort) {
    app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', CONTENT_TYPE)
      return await text()
    })
  }
  if (port === null) return
  let server: Server | null = null
  app.addHook('onListen', async () => {
    if (server !== null) return
    server = await listenMetricsServer(text, port, host)
    app.log.info({ port }, 'metrics listening on METRICS_PORT')
  })
  app.addHook('onClose', async () => {
    if (server !== null) await closeMetricsServer(server)
  })
}
