// What every in-process decision bench builds around authorize(): one build's configuration (from
// process.env), a memory store, the revocation checker, the security sink and the authenticator.
// `load` imports a module of the build measured (a dist directory), so an older build can be
// compared with this one; options an older build does not know are ignored by it.
import pino from 'pino'

export async function decisionParts (load, { dpop = false } = {}) {
  const { loadConfig } = await load('config/load.js')
  const { createAuthenticator } = await load('decision/authenticator.js')
  const { RevocationChecker } = await load('revocation/checker.js')
  const { ReplicaState } = await load('revocation/replica-state.js')
  const { MemoryStore } = await load('revocation/memory-store.js')
  const { GatewayMetrics } = await load('metrics/metrics.js')
  const { MonitoringSink } = await load('security/monitoring-sink.js')
  const { createTokenVerifier } = await load('tokens/verifier.js')
  const log = pino({ level: 'warn' })
  const config = loadConfig(process.env)
  const store = new MemoryStore()
  const metrics = new GatewayMetrics()
  const replica = new ReplicaState(store, { maxStalenessMs: config.maxStalenessMs })
  const checker = new RevocationChecker(replica, store, { timeoutMs: 50, failMode: 'open' }, metrics.checks)
  const security = new MonitoringSink(config, metrics, log)
  const authenticator = createAuthenticator(createTokenVerifier(config.jwt, null), checker, config.jwt.maxTokenBytes, dpop)
  const close = async () => {
    await security.close()
    checker.close()
    replica.close()
    await store.close()
  }
  return { config, metrics, security, authenticator, log, close }
}
