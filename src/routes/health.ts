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

  // Ready when the store answers and the complete revocation state is loaded, or when
  // FAIL_MODE=open lets the gateway serve without the store. The body names neither the store
  // nor the fail mode: "Redis is down and we fail open" tells an attacker when revoked tokens
  // may pass. Operators read it in /admin/health and /metrics.
  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    const reachable = await storeReachable(ctx)
    if (reachable && ctx.checker.loaded) return { status: 'ready' }
    if (reachable) return await reply.code(503).send({ status: 'loading' })
    if (ctx.config.failMode === 'open') return { status: 'ready' }
    return reply.code(503).send({ status: 'unavailable' })
  })
}
