import type { Server } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { closeMetricsServer, listenMetricsServer, METRICS_CONTENT_TYPE, type MetricsText } from '../server/metrics-listener.js'

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
      reply.header('content-type', METRICS_CONTENT_TYPE)
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
