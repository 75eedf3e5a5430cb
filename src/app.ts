import { createRequire } from 'node:module'
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { createAuthenticator } from './decision/authenticator.js'
import type { Config } from './config/types.js'
import type { GatewayServices } from './context.js'
import { createAccessPolicy } from './decision/access-policy.js'
import { createAuthorizer, type Authorizer } from './decision/authorize.js'
import { DecisionLog, type DecisionMode } from './decision/decision-log.js'
import { installErrorHandlers } from './server/error-handler.js'
import { resourceMetadataChallenge } from './server/failure-reply.js'
import { sendContinue } from './server/expect-continue.js'
import { lazyChildLoggerFactory } from './server/lazy-logger.js'
import { LOG_REDACT } from './server/log-redact.js'
import { RefusalReport } from './server/refusal-report.js'
import { requestIdOf } from './server/request-ids.js'
import { serverLimits } from './server/server-limits.js'
import { FastRouteServer } from './server/fast-route-server.js'
import { compileTrustedProxies } from './decision/trusted-proxies.js'
import { createCertificateBinding } from './decision/certificate-binding.js'
import { certificatesConfigured, createCertificateSource } from './decision/client-certificate.js'
import { fapi2KeyProblem } from './tokens/fapi2-keys.js'
import { ConfigError } from './errors.js'
import { proxyRoutes } from './proxy/proxy.js'
import { RevocationChecker } from './revocation/checker.js'
import { ReplicaState } from './revocation/replica-state.js'
import { MemoryStore } from './revocation/memory-store.js'
import { RedisStore } from './revocation/redis/redis-store.js'
import { markLifetimeS } from './revocation/mark-lifetime.js'
import { Revoker } from './revocation/revoker.js'
import type { RevocationStore } from './revocation/store.js'
import { GatewayMetrics } from './metrics/metrics.js'
import { registerMetricsEndpoint } from './routes/metrics.js'
import { MonitoringSink } from './security/monitoring-sink.js'
import { adminObservabilityRoutes } from './routes/admin-observability.js'
import formbody from '@fastify/formbody'
import { adminRevocationRoutes } from './routes/admin-revocation.js'
import { IssuerScope } from './revocation/issuer-scope.js'
import { healthRoutes } from './routes/health.js'
import { Readiness } from './routes/readiness.js'
import { resourceMetadataRoutes } from './routes/resource-metadata.js'
import { oauthRoutes } from './routes/oauth-routes.js'
import { registerRateLimits } from './routes/rate-limits.js'
import { tokenRoutes } from './routes/token-routes.js'
import { createForwardAuth } from './forward-auth/forward-auth.js'
import { createIssuer } from './tokens/issuer.js'
import type { WorkerLink } from './cluster/worker-link.js'
import { issuerKeysSources } from './tokens/discovery.js'
import { logoutIssuersOf, revocationCallersOf } from './idp/issuers.js'
import { backchannelLogoutRoutes } from './routes/backchannel-logout.js'
import { createLogoutTokenVerifier } from './idp/logout-token.js'
import { createRevocationCallerVerifier } from './idp/global-revocation.js'
import { globalTokenRevocationRoutes } from './routes/global-token-revocation.js'
import { JwksKeySet } from './tokens/jwks.js'
import { createTokenVerifier } from './tokens/verifier.js'
import { IdpRevoker } from './idp/idp-revoker.js'
import { createReplayGuard } from './idp/replay-guard.js'
import { ssfEventsRoutes } from './routes/ssf-events.js'
import { ssfReport } from './ssf/ssf-report.js'
import { SsfService } from './ssf/ssf-service.js'

export interface BuildOptions {
  /** Fastify/pino logger options or instance; defaults to the configured level. */
  readonly logger?: FastifyServerOptions['logger']
  /** How long start-up waits for Redis before serving under FAIL_MODE. */
  readonly redisConnectTimeoutMs?: number
  /** Set in a cluster worker (WORKERS > 1): audit records and metrics go through the primary. */
  readonly worker?: WorkerLink
  /**
   * Milliseconds clock of the JWKS key set (its refetch cooldown and ten-minute
   * refresh), Date.now by default: tests step through a cooldown instead of
   * sleeping. Nothing else reads it.
   */
  readonly now?: () => number
  /** How often an SSF poller takes or renews its lease (5 s; the lease lives three times this): tests shorten a takeover. */
  readonly ssfLeaseRenewMs?: number
}

async function buildStore (config: Config, app: FastifyInstance, connectTimeoutMs: number): Promise<RevocationStore> {
  if (config.redis === null) return new MemoryStore()
  // Log entries outlive the longest mark: a trimmed entry belongs to an expired mark.
  const store = new RedisStore(config.redis, app.log, { logRetentionS: markLifetimeS(config.jwt) })
  try {
    await store.connect(connectTimeoutMs)
    await store.checkEvictionPolicy()
  } catch (err) {
    app.log.error({ err: (err as Error).message }, `Redis unreachable at start; serving with FAIL_MODE=${config.failMode} until it returns`)
  }
  return store
}

// The package's own version, for tokengate_build_info (dist/app.js and src/app.ts both sit one level down).
const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version
/** Builds the whole gateway; never listens (see server.ts). */
export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  // First, before anything is opened: an untrusted discovery stops start-up (ConfigError).
  const keySources = await issuerKeysSources(config.jwt)
  const jwksUrls = keySources.map(({ jwksUrl }) => jwksUrl)
  const fapi2 = config.securityProfile === 'fapi2'
  // A jwks_uri discovered at start-up is held to SECURITY_PROFILE=fapi2 as a configured one is.
  const plainJwks = fapi2 ? jwksUrls.filter((url) => url !== null && url.protocol !== 'https:') : []
  if (plainJwks.length > 0) throw new ConfigError(plainJwks.map((url) => `JWT_ISSUERS: SECURITY_PROFILE=fapi2 reads keys over https only, not the discovered ${url?.origin ?? ''}`))
  // RFC 9728 §5.1: every Bearer challenge of this gateway names its resource metadata.
  const challengeSuffix = resourceMetadataChallenge(config.resourceMetadata?.url ?? null)
  const fastRoutes = new FastRouteServer(config.tls)
  const trustedProxies = compileTrustedProxies(config.trustedProxies)
  const isTrustedProxy = trustedProxies.peer
  const app = Fastify({
    serverFactory: fastRoutes.serverFactory,
    logger: options.logger ?? { level: config.logLevel, redact: LOG_REDACT },
    // Per-request log lines stay off the hot path; decisions that matter are logged by the routes.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLoggerFactory,
    trustProxy: trustedProxies.address,
    // X-Request-Id only from TRUSTED_PROXIES: a client does not choose the id it is audited under.
    requestIdHeader: false,
    genReqId: (req) => requestIdOf(req.headers['x-request-id'], isTrustedProxy(req.socket)),
    bodyLimit: config.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ...serverLimits(config)
  })
  app.decorate('tokengateChallengeSuffix', challengeSuffix)

  const store = await buildStore(config, app, options.redisConnectTimeoutMs ?? 5000)
  const metrics = new GatewayMetrics({ version: VERSION })
  const replica = new ReplicaState(store, { maxStalenessMs: config.maxStalenessMs })
  const checker = new RevocationChecker(replica, store, { timeoutMs: config.revocationCheckTimeoutMs, failMode: config.failMode }, metrics.checks)
  metrics.watchBreaker(() => checker.breakerState)
  metrics.watchState(replica)
  if (store instanceof RedisStore) metrics.watchRollForward(() => store.rollForwardStats)
  // Listening before the state is loaded would decide every token by a lookup (or by FAIL_MODE).
  if (!await replica.whenLoaded(options.redisConnectTimeoutMs ?? 5000)) {
    app.log.error({}, `revocation state not loaded at start; deciding by lookup or FAIL_MODE=${config.failMode} until it is (/readyz says 503)`)
  }
  const worker = options.worker ?? null
  const security = new MonitoringSink(config, metrics, app.log, worker ?? undefined)
  // One key set per issuer, each with its own cache, kid refresh and cooldown.
  const jwks = jwksUrls.map((url, index) => url === null ? null : new JwksKeySet(url, config.jwt, config.jwt.issuers[index], app.log, { now: options.now ?? Date.now, ...(fapi2 && { keyProblem: fapi2KeyProblem }) }))
  await Promise.all(jwks.map(async (keySet) => await keySet?.refresh()))
  const keySets = jwks.flatMap((keySet) => keySet === null ? [] : [keySet])
  metrics.watchJwks(keySets)
  const verifier = createTokenVerifier(config.jwt, jwks)
  const authenticator = createAuthenticator(verifier, checker, config.jwt.maxTokenBytes)
  const policy = createAccessPolicy(config.publicPaths, config.accessRules)
  const mtlsFailures = metrics.senderConstraintFailures
  const certificates = createCertificateBinding({
    source: createCertificateSource(config.clientCert, isTrustedProxy),
    requireSenderConstrained: fapi2,
    failed: (reason) => { mtlsFailures.inc({ binding: 'mtls', reason }) }
  })
  // One authorizer per mode, so that each decision's latency and log line name their mode.
  const authorizerFor = (mode: DecisionMode): Authorizer => createAuthorizer({
    policy, authenticator, security, methodOverride: config.upstreamMethodOverride, decisions: new DecisionLog(mode, metrics, app.log, config.decisionLog), certificates, senderConstrainedOnly: fapi2
  })
  const revoker = new Revoker(store, replica, config, { counter: metrics.revocations })
  const refusals = new RefusalReport({ counter: metrics.requestRefusals, modes: config.upstreamUrl === null ? ['forward_auth'] : ['forward_auth', 'proxy'], log: app.log })
  const issuer = config.jwt.signing === null ? null : createIssuer(config.jwt.signing, config.jwt.issuer, config.jwt.audience, config.jwt.requiredTyp)
  // Revocations pushed by identity providers: enforced here at once, their writes retried until stored.
  const idpRevoker = new IdpRevoker({
    revoker,
    replica,
    audit: (entry) => security.audit(entry),
    raise: async (type, subject, facts) => await security.monitor.raise(type, subject, facts),
    metrics,
    log: app.log
  }, { queueSize: config.idp.retryQueueSize, maxAgeMs: config.idp.retryMaxAgeMs })
  const logoutIssuers = logoutIssuersOf(config.jwt.issuers, jwks, keySources)
  const revocationCallers = revocationCallersOf(config.jwt.issuers, jwks, keySources)
  // One-time ids (logout token and SET jtis), shared by every replica through Redis when there is
  // one; with no receiver configured nothing claims an id, so no Redis connection is opened for it.
  const receivesIdpMessages = logoutIssuers.length > 0 || revocationCallers.length > 0 || config.ssf !== null
  const replayGuard = createReplayGuard(receivesIdpMessages ? config.redis : null, app.log)
  // Shared Signals: transmitters' metadata and keys read now; an unreachable one is logged, never fatal.
  const ssf = config.ssf === null
    ? null
    : await SsfService.start({
      config: config.ssf,
      clockToleranceS: config.jwt.clockToleranceS,
      jwksCooldownMs: config.jwt.jwksCooldownMs,
      redis: config.redis,
      guard: replayGuard,
      enforce: async ({ source, kind, issuer, id, subject, event }) => (await idpRevoker.enforce({ source, kind, issuer, id, subject, event })).outcome,
      report: ssfReport(metrics, security, app.log),
      log: app.log,
      leaseRenewMs: options.ssfLeaseRenewMs
    })
  if (ssf !== null) metrics.watchSsfPollers(() => ssf.polling)
  const services: GatewayServices = { store, replica, checker, revoker, authenticator, issuer, security, idpRevoker, replayGuard, ssf }
  app.decorate('tokengate', services)
  // Every request property is declared up front: one object shape for all requests.
  app.decorateRequest('tokengateClaims', null)
  app.decorateRequest('tokengateForwardedAt', 0)
  app.addHook('onClose', async () => {
    // Pollers first: nothing is received once the revoker and the replay cache close.
    await ssf?.close()
    await idpRevoker.close()
    await replayGuard.close()
    checker.close()
    replica.close()
    await security.close()
    await store.close()
  })

  installErrorHandlers(app)
  // Every answer names its request (a trusted proxy's X-Request-Id, echoed, or tokengate's own);
  // the proxy's upstream answers get it in src/proxy/exchange.ts. Fastify's header store, not
  // res.setHeader: a header set on the raw response sends node's writeHead down its slow path
  // (one validated setHeader per header), measured at +5 µs per forward-auth allow.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
  if (worker === null) await registerMetricsEndpoint(app, async () => await metrics.text(), { onMainPort: config.metricsOnMainPort, port: config.metricsPort, host: config.host })
  else {
    worker.shareMetrics(metrics.registry)
    // With METRICS_PORT the primary listens there; on the main port each worker's /metrics asks it for the sum.
    await registerMetricsEndpoint(app, async () => await worker.clusterMetrics(), { onMainPort: config.metricsOnMainPort, port: null, host: config.host })
  }
  await app.register(healthRoutes, { readiness: new Readiness(replica, keySets, config.readyFollowsState) })
  // Registered before the proxy's catch-all: in proxy mode this path is tokengate's.
  if (config.resourceMetadata !== null) await app.register(resourceMetadataRoutes, { ...config.resourceMetadata, certificateBound: certificatesConfigured(config.clientCert) })
  // Served by the server ahead of Fastify's router (so app.inject() does not reach it).
  fastRoutes.route(createForwardAuth({
    authorize: authorizerFor('forward_auth'),
    trustedProxies,
    authPrefix: config.authPrefix,
    log: app.log,
    originalUriRequired: config.publicPaths.length > 0 || config.accessRules.length > 0,
    refusals,
    challengeSuffix
  }))
  app.addHook('preClose', async () => { fastRoutes.close() })
  await registerRateLimits(app, config)
  // Token routes take JSON or form bodies (RFC 7662/7009 clients send forms).
  await app.register(async (api) => {
    // JSON or form only: anything else is a 415, not a body that fails validation.
    api.removeContentTypeParser('text/plain')
    // Bodies here are bounded by BODY_LIMIT_BYTES and read before the route decides: invite them as Node would.
    api.addHook('preParsing', async (_request, reply, payload) => { sendContinue(reply.raw); return payload })
    await api.register(formbody)
    const maxTokenBytes = config.jwt.maxTokenBytes
    await api.register(tokenRoutes, {
      authenticator,
      revoker,
      security,
      issuer,
      authPrefix: config.authPrefix,
      maxTokenBytes,
      accessTokenTtlS: config.accessTokenTtlS,
      rotation: { refreshTokenTtlS: config.refreshTokenTtlS, sessionMaxLifetimeS: config.sessionMaxLifetimeS }
    })
    if (logoutIssuers.length > 0) {
      await api.register(backchannelLogoutRoutes, {
        authPrefix: config.authPrefix,
        verify: createLogoutTokenVerifier(logoutIssuers, { clockToleranceS: config.jwt.clockToleranceS, maxAgeS: config.idp.logoutMaxAgeS, maxTokenBytes }),
        replayGuard,
        idpRevoker,
        clockToleranceS: config.jwt.clockToleranceS,
        relayTimeoutMs: config.idp.relayTimeoutMs,
        raise: async (type, subject, facts) => await security.monitor.raise(type, subject, facts),
        metrics
      })
    }
    if (revocationCallers.length > 0) {
      await api.register(globalTokenRevocationRoutes, {
        authPrefix: config.authPrefix,
        maxTokenBytes,
        verifyCaller: createRevocationCallerVerifier(revocationCallers, { clockToleranceS: config.jwt.clockToleranceS, maxAgeS: config.idp.logoutMaxAgeS, maxTokenBytes }),
        replayGuard,
        idpRevoker,
        clockToleranceS: config.jwt.clockToleranceS,
        raise: async (type, subject, facts) => await security.monitor.raise(type, subject, facts),
        metrics
      })
    }
    await api.register(oauthRoutes, { authenticator, revoker, security, metrics, introspectionClients: config.introspectionClients, maxTokenBytes })
    const issuers = new IssuerScope(config.jwt.issuers)
    await api.register(adminRevocationRoutes, { authenticator, revoker, issuers, security, adminRole: config.adminRole, maxTokenBytes })
    await api.register(adminObservabilityRoutes, {
      authenticator,
      store,
      replica,
      metrics,
      security,
      issuers,
      adminRole: config.adminRole,
      failMode: config.failMode,
      upstreamUrl: config.upstreamUrl
    })
  })
  if (ssf !== null) {
    // Its own scope: the SET media type is parsed here only.
    await app.register(ssfEventsRoutes, { authPrefix: config.authPrefix, receiver: ssf.receiver, pushers: ssf.pushers })
    // Streams are managed and pollers started once the routes exist (a verification may be pushed at once).
    app.addHook('onReady', async () => { ssf.run() })
  }
  if (config.upstreamUrl !== null) {
    await app.register(proxyRoutes, {
      authorize: authorizerFor('proxy'),
      isTrustedProxy,
      upstream: config.upstreamUrl,
      pool: {
        timeoutMs: config.upstreamTimeoutMs,
        connections: config.upstreamConnections,
        maxPending: config.upstreamMaxPending,
        uploadConnections: config.upstreamUploadConnections
      },
      bodyLimits: { bufferBytes: config.proxyRequestBufferBytes, idleMs: config.clientBodyTimeoutMs },
      metrics,
      refusals
    })
  }
  return app
}
