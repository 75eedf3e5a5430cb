import type { FastifyPluginAsync } from 'fastify'
import type { Readiness } from './readiness.js'

export interface HealthOptions {
  readonly readiness: Readiness
}

export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { readiness }) => {
  app.get('/healthz', async () => ({ status: 'ok' }))

  // The body names neither the store, nor the fail mode, nor an outage: "Redis is down and we
  // fail open" tells an attacker when revoked tokens may pass. Operators read it in
  // /admin/health and /metrics.
  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    const status = readiness.status
    if (status !== 'ready') reply.code(503)
    return { status }
  })
}
