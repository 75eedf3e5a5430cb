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

  // Ready when the store answers and the complete revocation state is loaded,
  // or when FAIL_MODE=open lets the gateway serve without the store.
  app.get('/readyz', async (_request, reply) => {
    const reachable = await storeReachable(ctx)
    if (reachable && ctx.checker.loaded) return { status: 'ready', store: ctx.store.name }
    if (reachable) return await reply.code(503).send({ status: 'loading', store: ctx.store.name })
    if (ctx.config.failMode === 'open') return { status: 'degraded', store: ctx.store.name, fail_mode: 'open' }
    return reply.code(503).send({ status: 'unavailable', store: ctx.store.name, fail_mode: 'closed' })
  })
}
