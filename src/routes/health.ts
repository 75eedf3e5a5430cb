import type { FastifyPluginAsync } from 'fastify'
import type { GatewayContext } from '../context.js'

const PING_BUDGET_MS = 1000

async function storeReachable (ctx: GatewayContext): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(resolve, PING_BUDGET_MS, false) })
  try {
    return await Promise.race([ctx.store.ping().then(() => true, () => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}

export const healthRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  app.get('/healthz', async () => ({ status: 'ok' }))

  // Ready when the store answers, or when FAIL_MODE=open lets the gateway serve without it. The
  // body names neither the store nor the fail mode: "Redis is down and we fail open" tells an
  // attacker when revoked tokens may pass. Operators read it in /admin/health and /metrics.
  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    if (await storeReachable(ctx) || ctx.config.failMode === 'open') return { status: 'ready' }
    return reply.code(503).send({ status: 'unavailable' })
  })
}
