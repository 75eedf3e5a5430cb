import { createRequire } from 'node:module'
import { Failures } from './errors.js'
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { createAuthenticator, type Authenticator } from './decision/authenticator.js'
import type { Config } from './config/types.js'
import { restartNeeded } from './config/reload-check.js'
import { ConfigError } from './errors.js'
import type { GatewayServices } from './context.js'
import { createAccessPolicy } from './decision/access-policy.js'
import { createAuthorizer, type Authorizer } from './decision/authorize.js'
import { DecisionLog, type DecisionMode } from './decision/decision-log.js'
import { decisionTracing, type DecisionTracing } from './decision/decision-span.js'
import { startTracing } from './tracing/load.js'
import type { Tracing } from './tracing/tracing.js'
import { installErrorHandlers } from './server/error-handler.js'
import { dpopChallenge, resourceMetadataChallenge } from './server/failure-reply.js'
import { createDpopCheck, forwardAuthTarget, proxyTarget, type DpopCheck, type TargetOf } from './decision/dpop-check.js'
import { createProofVerifier } from './decision/dpop-proof.js'
import { issuerKey } from './security/sink.js'
import { sendContinue } from './server/expect-continue.js'
import { lazyChildLoggerFactory } from './server/lazy-logger.js'
import { LOG_REDACT } from './server/log-redact.js'
import { RefusalReport } from './server/refusal-report.js'
import { requestIdOf } from './server/request-ids.js'
import { serverLimits } from './server/server-limits.js'
import { FastRouteServer } from './server/fast-route-server.js'
import { compileTrustedProxies } from './decision/trusted-proxies.js'
import { createCertificateBinding, type CertificateBinding } from './decision/certificate-binding.js'
import { createSenderConstraint } from './decision/sender-constraint.js'
import { certificatesConfigured, createCertificateSource } from './decision/client-certificate.js'
import { fapi2KeyProblem } from './tokens/fapi2-keys.js'
import { proxyRoutes } from './proxy/proxy.js'
import { RevocationChecker } from './revocation/checker.js'
import { ReplicaState } from './revocation/replica-state.js'
import { MemoryStore } from './revocation/memory-store.js'
import { RedisStore } from './revocation/redis/redis-store.js'
import { markLifetimeS } from './revocation/mark-lifetime.js'
import { Revoker } from './revocation/revoker.js'
import type { RevocationOrigin } from './revocation/revocation-origin.js'
import type { RevocationStore } from './revocation/store.js'
import { GatewayMetrics } from './metrics/metrics.js'
import { registerMetricsEndpoint } from './routes/metrics.js'
import { MonitoringSink } from './security/monitoring-sink.js'
import type { TokenRef } from './security/sink.js'
import { sessionOf } from './tokens/claims.js'
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
import { createIssuer, type TokenIssuer } from './tokens/issuer.js'
import type { WorkerLink } from './cluster/worker-link.js'
import { issuerKeysSources, type IssuerKeysSource } from './tokens/discovery.js'
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

/**
 * What a reload swaps (ARCHITECTURE.md, "Swapping options while running"): built from one
 * configuration, immutable, held behind one reference. A request reads the reference once and
 * keeps what it read to its end, across every await.
 */
interface LiveSnapshot {
  readonly config: Config
  readonly keySets: ReadonlyArray<JwksKeySet | null>
  /** Owns the verified-token cache: a new verifier (keys or issuers changed) starts with an empty one. */
  readonly authenticator: Authenticator
  readonly issuer: TokenIssuer | null
  readonly forwardAuth: Authorizer
  readonly proxy: Authorizer
  readonly requiresOriginalUri: boolean
  /** The issuers an administrator may name (`iss`). */
  readonly issuers: IssuerScope
}

/** The admin routes' issuer scope, asked of the current snapshot at each call: an issuer added by a reload can be named at once. */
class LiveIssuerScope extends IssuerScope {
  readonly #current: () => IssuerScope
  constructor (current: () => IssuerScope) {
    super([])
    this.#current = current
  }

  override target (requested: string | undefined): string { return this.#current().target(requested) }
  override subject (requested: string | undefined): string { return this.#current().subject(requested) }
  override everyone (requested: string | undefined, allIssuers: boolean): string { return this.#current().everyone(requested, allIssuers) }
}

/** What outlives every snapshot: the revocation state and checker, the sink, one decision log per mode. */
interface SnapshotParts {
  readonly checker: RevocationChecker
  readonly security: MonitoringSink
  readonly decisions: Readonly<Record<DecisionMode, DecisionLog>>
  /** A span per decision, per mode; undefined when traces are off. */
  readonly spans: Readonly<Record<DecisionMode, DecisionTracing>> | undefined
  /** DPoP proof checks per mode (DPOP=true); read at start, as DPOP_* take a restart. */
  readonly dpop: Readonly<Record<DecisionMode, DpopCheck | undefined>>
  /** Certificate-bound tokens (RFC 8705); SECURITY_PROFILE=fapi2 sends every token through it. */
  readonly certificates: CertificateBinding
  readonly tracing: Tracing | undefined
  readonly log: FastifyInstance['log']
  readonly now: () => number
}

/** Keys and issuers as the verifier reads them; both ephemeral (development) counts as unchanged. */
function sameKeys (a: Config, b: Config): boolean {
  if (a.jwt.ephemeral && b.jwt.ephemeral) return true
  return JSON.stringify(a.jwt) === JSON.stringify(b.jwt)
}

/**
 * Everything start-up builds from the live settings, built again for `config`: issuer discovery,
 * a key set (and its first fetch) for each issuer whose JWKS is new, the verifier, the access
 * policy. `previous`'s verifier is kept when keys and issuers did not change; its key sets are
 * kept for each issuer whose entry and JWKS URL did not change.
 */
async function buildSnapshot (config: Config, parts: SnapshotParts, previous: LiveSnapshot | null, sources?: readonly IssuerKeysSource[]): Promise<LiveSnapshot> {
  let keySets: ReadonlyArray<JwksKeySet | null>
  let authenticator: Authenticator
  let issuer: TokenIssuer | null
  if (previous !== null && sameKeys(previous.config, config)) ({ keySets, authenticator, issuer } = previous)
  else {
    // An untrusted discovery throws a ConfigError: the reload fails, as start-up would.
    const urls = (sources ?? await issuerKeysSources(config.jwt)).map(({ jwksUrl }) => jwksUrl)
    const fapi2 = config.securityProfile === 'fapi2'
    // A jwks_uri discovered (at start-up or by a reload) is held to SECURITY_PROFILE=fapi2 as a configured one is.
    const plainJwks = fapi2 ? urls.filter((url) => url !== null && url.protocol !== 'https:') : []
    if (plainJwks.length > 0) throw new ConfigError(plainJwks.map((url) => `JWT_ISSUERS: SECURITY_PROFILE=fapi2 reads keys over https only, not the discovered ${url?.origin ?? ''}`))
    const kept = previous === null ? [] : previous.config.jwt.issuers.map((entry, index) => ({ entry: JSON.stringify(entry), keySet: previous.keySets[index] }))
    keySets = urls.map((url, index) => {
      if (url === null) return null
      const entry = JSON.stringify(config.jwt.issuers[index])
      const same = kept.find((old) => old.entry === entry && old.keySet?.url === url.href)?.keySet
      return same ?? new JwksKeySet(url, config.jwt, config.jwt.issuers[index], parts.log, { now: parts.now, tracing: parts.tracing, ...(fapi2 && { keyProblem: fapi2KeyProblem }) })
    })
    const fresh = keySets.filter((keySet) => keySet !== null && !kept.some((old) => old.keySet === keySet))
    await Promise.all(fresh.map(async (keySet) => await keySet?.refresh()))
    authenticator = createAuthenticator(createTokenVerifier(config.jwt, keySets), parts.checker, config.jwt.maxTokenBytes, config.dpop !== null)
    issuer = config.jwt.signing === null ? null : createIssuer(config.jwt.signing, config.jwt.issuer, config.jwt.audience, config.jwt.requiredTyp)
  }
  const policy = createAccessPolicy(config.publicPaths, config.accessRules)
  // One authorizer per mode, so that each decision's latency and log line name their mode.
  const authorizerFor = (mode: DecisionMode): Authorizer => createAuthorizer({
    policy,
    authenticator,
    security: parts.security,
    methodOverride: config.upstreamMethodOverride,
    decisions: parts.decisions[mode],
    tracing: parts.spans?.[mode],
    dpop: parts.dpop[mode],
    certificates: parts.certificates,
    senderConstrainedOnly: config.securityProfile === 'fapi2'
  })
  return Object.freeze({
    config,
    keySets,
    authenticator,
    issuer,
    forwardAuth: authorizerFor('forward_auth'),
    proxy: authorizerFor('proxy'),
    requiresOriginalUri: config.publicPaths.length > 0 || config.accessRules.length > 0,
    issuers: new IssuerScope(config.jwt.issuers)
  })
}

/** What a reload says: swapped, or the problems that kept the running configuration. */
export type ReloadOutcome = { readonly ok: true, readonly config: Config } | { readonly ok: false, readonly problems: readonly string[] }

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Reads the configuration again (`load`, as start-up did), checks that nothing that needs a
     * restart changed, builds a whole new snapshot and only then swaps it in. On any problem the
     * running configuration is kept. Logged and counted (tokengate_config_reloads_total).
     */
    tokengateReload: (load: () => Config, trigger: string) => Promise<ReloadOutcome>
  }
}

const DPOP_REASONS = Object.values(Failures).filter((failure) => failure.reason.startsWith('dpop_')).map((failure) => failure.reason)

// The package's own version, for tokengate_build_info (dist/app.js and src/app.ts both sit one level down).
const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version
/** Builds the whole gateway; never listens (see server.ts). */
export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  // First, before anything is opened: an untrusted discovery stops start-up (ConfigError).
  const keySources = await issuerKeysSources(config.jwt)
  const fapi2 = config.securityProfile === 'fapi2'
  // RFC 9728 §5.1: every Bearer challenge of this gateway names its resource metadata.
  // RFC 9449 §7.1: with DPoP, every challenge offers the DPoP scheme too.
  const challengeSuffix = resourceMetadataChallenge(config.resourceMetadata?.url ?? null) + dpopChallenge(config.dpop?.algorithms ?? null)
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

  // OTEL_*: the SDK is imported only when traces are on; each cluster worker exports its own spans.
  const tracing = await startTracing(config.tracing === null ? null : { ...config.tracing, version: VERSION }, app.log)
  const store = await buildStore(config, app, options.redisConnectTimeoutMs ?? 5000)
  const metrics = new GatewayMetrics({ version: VERSION })
  const replica = new ReplicaState(store, { maxStalenessMs: config.maxStalenessMs, originWindowMs: config.monitor.revokedRetryWindowS * 1000 })
  const checker = new RevocationChecker(replica, store, { timeoutMs: config.revocationCheckTimeoutMs, failMode: config.failMode, tracing }, metrics.checks)
  metrics.watchBreaker(() => checker.breakerState)
  metrics.watchState(replica)
  if (store instanceof RedisStore) metrics.watchRollForward(() => store.rollForwardStats)
  // Listening before the state is loaded would decide every token by a lookup (or by FAIL_MODE).
  if (!await replica.whenLoaded(options.redisConnectTimeoutMs ?? 5000)) {
    app.log.error({}, `revocation state not loaded at start; deciding by lookup or FAIL_MODE=${config.failMode} until it is (/readyz says 503)`)
  }
  const worker = options.worker ?? null
  const revocationOrigin = (token: TokenRef): RevocationOrigin | undefined => replica.recentOrigin({ iss: token.iss ?? '', jti: token.jti, sid: sessionOf(token), sub: token.sub })
  const security = new MonitoringSink(config, metrics, app.log, worker ?? undefined, revocationOrigin)
  // One key set per issuer, each with its own cache, kid refresh and cooldown; a reload keeps those it can.
  const decisions = { forward_auth: new DecisionLog('forward_auth', metrics, app.log, config.decisionLog), proxy: new DecisionLog('proxy', metrics, app.log, config.decisionLog) }
  const spans = tracing === undefined ? undefined : { forward_auth: decisionTracing(tracing, 'forward_auth', isTrustedProxy), proxy: decisionTracing(tracing, 'proxy', isTrustedProxy) }
  // DPoP proofs (RFC 9449): one proof verifier (its key cache) for every mode; proof ids claimed once through the replay guard.
  const dpopConfig = config.dpop
  const proofVerifier = dpopConfig === null ? null : createProofVerifier(dpopConfig.algorithms)
  if (dpopConfig !== null) for (const name of DPOP_REASONS) metrics.dpopFailures.inc({ reason: name }, 0)
  const dpopFor = (targetOf: TargetOf): DpopCheck | undefined => dpopConfig === null || proofVerifier === null
    ? undefined
    : createDpopCheck(dpopConfig, {
      guard: { claim: async (scope, id, untilS, owner) => await replayGuard.claim(scope, id, untilS, owner) },
      now: options.now,
      clockToleranceS: config.jwt.clockToleranceS,
      replayTimeoutMs: config.revocationCheckTimeoutMs,
      failed: (reason) => { metrics.dpopFailures.inc({ reason }) },
      raise: (type, claims, request, detail) => {
        security.monitor.raise(type, issuerKey(claims.iss, claims.jti), { iss: claims.iss ?? '', user_id: claims.sub, jti: claims.jti, ip: request.ip, request_id: request.id, detail }).catch(() => {})
      }
    }, targetOf, proofVerifier)
  const mtlsFailures = metrics.senderConstraintFailures
  // Certificate-bound tokens (RFC 8705) and SECURITY_PROFILE=fapi2: read at start, as their variables take a restart.
  const certificates = createCertificateBinding({
    source: createCertificateSource(config.clientCert, isTrustedProxy),
    requireSenderConstrained: fapi2,
    failed: (reason) => { mtlsFailures.inc({ binding: 'mtls', reason }) }
  })
  const dpop = { forward_auth: dpopFor(forwardAuthTarget(dpopConfig?.origins ?? [], isTrustedProxy)), proxy: dpopFor(proxyTarget(dpopConfig?.origins ?? [], isTrustedProxy)) }
  const parts: SnapshotParts = { checker, security, decisions, spans, dpop, certificates, tracing, log: app.log, now: options.now ?? Date.now }
  let live = await buildSnapshot(config, parts, null, keySources)
  const jwks = live.keySets
  const keySets = jwks.flatMap((keySet) => keySet === null ? [] : [keySet])
  metrics.watchJwks(keySets)
  // Routes hold these for good: each call reads the current snapshot once.
  const authenticator: Authenticator = {
    fromHeader: (header, use) => live.authenticator.fromHeader(header, use),
    fromToken: (token, use) => live.authenticator.fromToken(token, use),
    verifyOnly: (token) => live.authenticator.verifyOnly(token),
    cachedTokens: () => live.authenticator.cachedTokens()
  }
  const startIssuer = live.issuer
  const authorizers: Readonly<Record<DecisionMode, Authorizer>> = {
    forward_auth: (request, method, path, mayCarryBody) => live.forwardAuth(request, method, path, mayCarryBody),
    proxy: (request, method, path, mayCarryBody) => live.proxy(request, method, path, mayCarryBody)
  }
  const authorizerFor = (mode: DecisionMode): Authorizer => authorizers[mode]
  const revoker = new Revoker(store, replica, config, { counter: metrics.revocations, tracing })
  const refusals = new RefusalReport({ counter: metrics.requestRefusals, modes: config.upstreamUrl === null ? ['forward_auth'] : ['forward_auth', 'proxy'], log: app.log })
  // Adding or removing the signing key takes a restart (reload-check.ts): a reload only changes which key signs.
  const issuer: TokenIssuer | null = startIssuer === null ? null : { algorithm: startIssuer.algorithm, mint: (mint) => (live.issuer ?? startIssuer).mint(mint) }
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
  const replayGuard = createReplayGuard(receivesIdpMessages || config.dpop !== null ? config.redis : null, app.log)
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
    // Last: the spans of everything above are exported, within a bounded wait.
    await tracing?.shutdown()
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
  await app.register(healthRoutes, { readiness: new Readiness(replica, keySets, config.readyFollowsState, config.dpop === null ? [] : [replayGuard]) })
  // Registered before the proxy's catch-all: in proxy mode this path is tokengate's.
  if (config.resourceMetadata !== null) await app.register(resourceMetadataRoutes, { ...config.resourceMetadata, dpopAlgorithms: config.dpop?.algorithms ?? null, certificateBound: certificatesConfigured(config.clientCert) })
  // Served by the server ahead of Fastify's router (so app.inject() does not reach it).
  fastRoutes.route(createForwardAuth({
    authorize: authorizerFor('forward_auth'),
    trustedProxies,
    authPrefix: config.authPrefix,
    log: app.log,
    originalUriRequired: () => live.requiresOriginalUri,
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
    // The token and admin routes are requests to tokengate itself: their URI as received.
    const senderConstraint = createSenderConstraint({ dpop: dpopFor(proxyTarget(dpopConfig?.origins ?? [], isTrustedProxy)), certificates, senderConstrainedOnly: fapi2 })
    await api.register(tokenRoutes, {
      authenticator,
      revoker,
      security,
      issuer,
      authPrefix: config.authPrefix,
      maxTokenBytes,
      accessTokenTtlS: config.accessTokenTtlS,
      rotation: { refreshTokenTtlS: config.refreshTokenTtlS, sessionMaxLifetimeS: config.sessionMaxLifetimeS },
      senderConstraint
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
    const issuers = new LiveIssuerScope(() => live.issuers)
    await api.register(adminRevocationRoutes, { authenticator, revoker, issuers, security, adminRole: config.adminRole, maxTokenBytes, senderConstraint })
    await api.register(adminObservabilityRoutes, {
      authenticator,
      store,
      replica,
      metrics,
      security,
      issuers,
      adminRole: config.adminRole,
      failMode: config.failMode,
      upstreamUrl: config.upstreamUrl,
      senderConstraint
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
      refusals,
      tracing,
      dropDpopProof: dpopConfig !== null && !dpopConfig.forwardProof,
      dpopNonces: dpopConfig !== null && dpopConfig.nonceSecret !== null
    })
  }
  let reloading: Promise<ReloadOutcome> = Promise.resolve({ ok: true, config })
  const reload = async (load: () => Config, trigger: string): Promise<ReloadOutcome> => {
    let next: Config
    try {
      next = load()
      const problems = restartNeeded(live.config, next)
      if (problems.length > 0) throw new ConfigError(problems)
      const changedKeys = !sameKeys(live.config, next)
      live = await buildSnapshot(next, parts, live)
      if (changedKeys) metrics.watchJwks(live.keySets.flatMap((keySet) => keySet === null ? [] : [keySet]))
      metrics.configReloads.inc({ result: 'success' })
      app.log.info({ trigger, keysChanged: changedKeys, rules: next.accessRules.length, publicPaths: next.publicPaths.length, issuers: next.jwt.issuers.length }, 'configuration reloaded')
      return { ok: true, config: next }
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message]
      metrics.configReloads.inc({ result: 'failure' })
      // An unexpected error (not a named problem) is logged with its stack.
      app.log.error({ trigger, problems, ...(err instanceof ConfigError ? {} : { err }) }, 'configuration reload refused; the running configuration is kept')
      return { ok: false, problems }
    }
  }
  // One reload at a time, in order: a burst of file events never builds two snapshots at once.
  app.decorate('tokengateReload', async (load: () => Config, trigger: string) => {
    reloading = reloading.then(async () => await reload(load, trigger))
    return await reloading
  })
  return app
}
