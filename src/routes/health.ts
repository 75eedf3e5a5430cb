import type { FastifyPluginAsync } from 'fastify'
import { within } from '../async/within.js'
import type { FailMode } from '../revocation/checker.js'
import type { ReplicaState } from '../revocation/replica-state.js'
import type { RevocationStore } from '../revocation/store.js'

const PING_BUDGET_MS = 1000

export interface HealthOptions {
  readonly store: RevocationStore
  readonly replica: ReplicaState
  readonly failMode: FailMode
}

async function storeReachable (store: RevocationStore): Promise<boolean> {
  return await within(store.ping().then(() => true), PING_BUDGET_MS, false)
}

export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { store, replica, failMode }) => {
  app.get('/healthz', async () => ({ status: 'ok' }))

  // Ready when the store answers and the complete revocation state is loaded, or when
  // FAIL_MODE=open lets the gateway serve without the store. The body names neither the store
  // nor the fail mode: "Redis is down and we fail open" tells an attacker when revoked tokens
  // may pass. Operators read it in /admin/health and /metrics.
  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    const reachable = await storeReachable(store)
    if (reachable && replica.ready) return { status: 'ready' }
    if (reachable) return await reply.code(503).send({ status: 'loading' })
    if (failMode === 'open') return { status: 'ready' }
    return reply.code(503).send({ status: 'unavailable' })
  })
}
