import { createServer, type Server } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { Failures } from '../errors.js'
import { writeFailure } from '../server/failure-reply.js'

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
