import type { ClientCertOptions } from '../decision/client-certificate.js'
import type { TlsListenerOptions } from '../server/tls-listener.js'
import type { SecurityProfile } from './sender-constraint.js'
import type { AccessRule } from '../decision/access-policy.js'
import type { UpstreamMethodOverride } from '../decision/body-override.js'
import type { DecisionLogOptions } from '../decision/decision-log.js'
import type { DpopConfig } from '../decision/dpop-check.js'
import type { IdpConfig } from '../idp/options.js'
import type { JwtConfig } from '../tokens/options.js'
import type { RedisConfig } from '../redis/redis-client.js'
import type { FailMode } from '../revocation/checker.js'
import type { IntrospectionClient } from '../routes/client-auth.js'
import type { RateLimitConfig } from '../routes/rate-limits.js'
import type { ResourceMetadataConfig } from '../routes/resource-metadata.js'
import type { MonitorConfig } from '../security/monitor.js'
import type { SsfConfig } from '../ssf/options.js'
import type { TracingOptions } from '../tracing/tracing.js'
import type { EffectiveSetting } from './effective.js'

/** Where the configuration came from: what a reload compares, watches and logs. */
export interface ConfigSource {
  /** TOKENGATE_CONFIG, or null. */
  readonly file: string | null
  /** Every variable set, the file's under the environment's (secrets included: never log it). */
  readonly settings: Readonly<Record<string, string>>
  /** The known settings that are set, redacted, with where each came from: what is logged and printed. */
  readonly effective: Readonly<Record<string, EffectiveSetting>>
  /** Files whose change triggers a reload: the configuration file, ACCESS_RULES_FILE, JWT_ISSUERS and JWT_PUBLIC_KEYS files. */
  readonly watched: readonly string[]
}

export interface Config {
  readonly production: boolean
  /** Embedded development instance: ephemeral key, printed sample token. */
  readonly development: boolean
  readonly host: string
  readonly port: number
  readonly logLevel: string
  readonly upstreamUrl: Readonly<URL> | null
  readonly upstreamTimeoutMs: number
  /** Connections in the pool to UPSTREAM_URL (Envoy max_connections). */
  readonly upstreamConnections: number
  /** Requests that may wait for a pooled connection; past it, 503 at once (Envoy max_pending_requests). */
  readonly upstreamMaxPending: number
  /** Connections that streamed uploads (bodies over proxyRequestBufferBytes) may hold at once; past it, 503. */
  readonly upstreamUploadConnections: number
  /** Proxied bodies up to this size are read whole before an upstream connection is taken (nginx proxy_request_buffering). */
  readonly proxyRequestBufferBytes: number
  /** Longest silence between two chunks of a request body (nginx client_body_timeout): 408. */
  readonly clientBodyTimeoutMs: number
  readonly publicPaths: readonly string[]
  readonly accessRules: readonly AccessRule[]
  /** `body`: a POST with a body is decided as every method an override could name; `none`: the operator declares the upstream honours no body override. */
  readonly upstreamMethodOverride: UpstreamMethodOverride
  readonly trustedProxies: readonly string[]
  readonly authPrefix: string
  readonly bodyLimitBytes: number
  /** Whole request head must arrive within this (Slowloris). */
  readonly headersTimeoutMs: number
  /** Whole request, body included, must arrive within this; 0 = no limit. */
  readonly requestTimeoutMs: number
  /** SIGTERM: how long in-flight requests may take to finish before the process exits anyway. */
  readonly shutdownGraceMs: number
  /** Processes serving the port (node:cluster); 1 = no cluster. */
  readonly workers: number
  readonly redis: RedisConfig | null
  readonly revocationCheckTimeoutMs: number
  readonly failMode: FailMode
  /** Past this age the local revocation state alone no longer decides "not revoked" (MAX_STALENESS_MS). */
  readonly maxStalenessMs: number
  readonly decisionLog: DecisionLogOptions
  /** READY_FOLLOWS_STATE: /readyz goes unready while the revocation state is stale (routes/readiness.ts). */
  readonly readyFollowsState: boolean
  readonly jwt: JwtConfig
  /** RESOURCE_URL: RFC 9728 metadata served and named in 401 challenges; null without it. */
  readonly resourceMetadata: ResourceMetadataConfig | null
  /** DPOP=true: DPoP-bound tokens (RFC 9449) accepted with their proofs; null without it. */
  readonly dpop: DpopConfig | null
  /** SSF_TRANSMITTERS: the Shared Signals receiver; null without it. */
  readonly ssf: SsfConfig | null
  readonly accessTokenTtlS: number
  readonly refreshTokenTtlS: number
  /** SESSION_MAX_LIFETIME: nothing a rotation issues outlives the session's start by more than this. */
  readonly sessionMaxLifetimeS: number
  /**
   * ADMIN_ROLE; null when no trusted issuer may grant it (no JWT_ISSUERS entry says grants_admin).
   * It counts only in tokens of an issuer that grants it (see claims.ts holdsAdminRole).
   */
  readonly adminRole: string | null
  readonly introspectionClients: readonly IntrospectionClient[]
  readonly metricsPort: number | null
  /** METRICS_ON_MAIN_PORT: default true in forward-auth mode, false in proxy mode and with METRICS_PORT. */
  readonly metricsOnMainPort: boolean
  readonly auditLogFile: string | null
  readonly alertWebhookUrl: Readonly<URL> | null
  readonly monitor: MonitorConfig
  readonly rateLimits: RateLimitConfig
  readonly localCacheSize: number
  /** Revocations pushed by identity providers (src/idp/). */
  readonly idp: IdpConfig
  /** OTEL_*: OpenTelemetry traces; null when off (config/tracing.ts). */
  readonly tracing: TracingOptions | null
  readonly source: ConfigSource
  /** SECURITY_PROFILE: `fapi2` checks the settings at start-up and accepts only sender-constrained tokens. */
  readonly securityProfile: SecurityProfile
  /** TLS_CERT_FILE and friends: the main port speaks TLS; null for plain HTTP. */
  readonly tls: TlsListenerOptions | null
  /** Where certificate-bound tokens' client certificates come from (RFC 8705). */
  readonly clientCert: ClientCertOptions
}
