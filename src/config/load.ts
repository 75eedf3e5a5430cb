import { availableParallelism } from 'node:os'
import proxyAddr from 'proxy-addr'
import { ConfigError, isFailure } from '../errors.js'
import { canonicalConfiguredPath } from '../decision/paths.js'
import { readAccessRules } from './access-rules.js'
import { mergeConfigFile } from './config-file.js'
import { effectiveSettings } from './effective.js'
import { EnvReader, type Env } from './env-reader.js'
import { readIdpConfig } from './idp.js'
import { readDpop } from './dpop.js'
import { readJwtConfig } from './jwt.js'
import { unknownVariables } from './near-miss.js'
import { readResourceMetadata } from './resource.js'
import { readSsf } from './ssf-transmitters.js'
import { readTracing } from './tracing.js'
import { checkFapi2, readClientCert, readSecurityProfile, readTlsListener } from './sender-constraint.js'
import type { RedisConfig, RedisTopology } from '../redis/redis-client.js'
import type { IntrospectionClient } from '../routes/client-auth.js'
import type { Config, ConfigSource } from './types.js'
import type { JwtConfig } from '../tokens/options.js'

const DAY_S = 86_400

function readRedis (r: EnvReader): RedisConfig | null {
  const url = r.url('REDIS_URL', ['redis:', 'rediss:'])
  const clusterNodes = r.hostPorts('REDIS_CLUSTER_NODES')
  const sentinels = r.hostPorts('REDIS_SENTINELS')
  const sentinelName = r.optionalString('REDIS_SENTINEL_NAME')
  const chosen = [url !== null, clusterNodes.length > 0, sentinels.length > 0].filter(Boolean).length
  if (chosen > 1) {
    r.fail('REDIS_URL', 'set only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS')
  }
  if (sentinels.length > 0 && sentinelName === null) {
    r.fail('REDIS_SENTINEL_NAME', 'required with REDIS_SENTINELS (the monitored primary\'s name)')
  }
  let topology: RedisTopology | null = null
  if (url !== null) topology = { mode: 'standalone', url: url.href }
  else if (clusterNodes.length > 0) topology = { mode: 'cluster', nodes: clusterNodes }
  else if (sentinels.length > 0) topology = { mode: 'sentinel', sentinels, name: sentinelName ?? '' }
  const keyPrefix = r.string('REDIS_KEY_PREFIX', 'revoked:')
  if (/[\s{}]/.test(keyPrefix)) r.fail('REDIS_KEY_PREFIX', 'must not contain whitespace or braces (braces are hash tags)')
  const minReplicasAck = r.int('REDIS_MIN_REPLICAS_ACK', 0, { min: 0, max: 16 })
  if (topology === null) return null
  return { topology, password: r.optionalString('REDIS_PASSWORD'), keyPrefix, minReplicasAck }
}

const MAX_WORKERS = 64

/** WORKERS: a count, or "auto" for one per core this process may use. */
function readWorkers (r: EnvReader, redis: RedisConfig | null, ephemeralKey: boolean): number {
  const raw = r.raw('WORKERS')
  if (raw === undefined) return 1
  const workers = raw.toLowerCase() === 'auto' ? Math.min(availableParallelism(), MAX_WORKERS) : /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!(workers >= 1 && workers <= MAX_WORKERS)) {
    r.fail('WORKERS', `"${raw}" is not "auto" or an integer from 1 to ${MAX_WORKERS}`)
    return 1
  }
  if (workers > 1 && redis === null) {
    r.fail('WORKERS', `${workers} workers need shared revocation state: set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (each worker would keep its own in-memory revocation list)`)
  }
  if (workers > 1 && ephemeralKey) {
    r.fail('WORKERS', `${workers} workers need a configured key (JWT_SECRET, JWT_PUBLIC_KEYS or JWKS_URL): each worker would make up its own development key`)
  }
  return workers
}

function readTrustedProxies (r: EnvReader): string[] {
  const list = r.has('TRUSTED_PROXIES') ? r.list('TRUSTED_PROXIES') : ['127.0.0.1', '::1']
  try {
    proxyAddr.compile(list)
  } catch (err) {
    r.fail('TRUSTED_PROXIES', `${(err as Error).message}; expected addresses or CIDR ranges, comma-separated`)
  }
  return list
}

function readAuthPrefix (r: EnvReader): string {
  const prefix = r.string('AUTH_PREFIX', '/auth')
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) {
    r.fail('AUTH_PREFIX', `"${prefix}" must be a path such as /auth or /api/auth (no trailing slash)`)
    return '/auth'
  }
  return prefix
}

function readPublicPaths (r: EnvReader): string[] {
  return r.list('PUBLIC_PATHS').flatMap((path) => {
    // In the canonical form request paths are decided on (docs/security.md, Paths).
    const canonical = canonicalConfiguredPath(path)
    if (isFailure(canonical)) {
      r.fail('PUBLIC_PATHS', `"${path}" must be a path prefix starting with "/" that a request could carry: ${canonical.description}`)
      return []
    }
    return [canonical]
  })
}

// Client secrets face online guessing from anywhere that reaches /oauth/*: as long as an HMAC key.
const MIN_CLIENT_SECRET_BYTES = 32

function readIntrospectionClients (r: EnvReader): IntrospectionClient[] {
  const privileged = new Set(r.list('REVOCATION_PRIVILEGED_CLIENTS'))
  const clients = r.list('INTROSPECTION_CLIENTS').flatMap((item) => {
    const colon = item.indexOf(':')
    if (colon < 1 || colon === item.length - 1) {
      r.fail('INTROSPECTION_CLIENTS', 'expected a comma list of id:secret')
      return []
    }
    const id = item.slice(0, colon)
    const secret = item.slice(colon + 1)
    // The secret is not echoed; the id names the entry.
    if (Buffer.byteLength(secret) < MIN_CLIENT_SECRET_BYTES) r.fail('INTROSPECTION_CLIENTS', `the secret of client "${id}" is shorter than ${MIN_CLIENT_SECRET_BYTES} bytes`)
    return [{ id, secret, privileged: privileged.has(id) }]
  })
  for (const id of privileged) {
    if (!clients.some((client) => client.id === id)) r.fail('REVOCATION_PRIVILEGED_CLIENTS', `"${id}" is not a client of INTROSPECTION_CLIENTS`)
  }
  return clients
}

/**
 * In proxy mode the main port serves the API's clients: tokengate's metrics
 * (deny reasons, store errors, breaker state) are not theirs to read unless
 * asked for. In forward-auth mode only the ingress talks to the main port.
 */
function readMetricsOnMainPort (r: EnvReader, proxyMode: boolean, metricsPort: boolean): boolean {
  const onMainPort = r.oneOf('METRICS_ON_MAIN_PORT', ['true', 'false'], proxyMode || metricsPort ? 'false' : 'true') === 'true'
  if (onMainPort && metricsPort) r.fail('METRICS_ON_MAIN_PORT', 'true together with METRICS_PORT; choose one place for /metrics')
  return onMainPort
}

/** UPSTREAM_UPLOAD_CONNECTIONS: by default half the pool, so that slow uploads leave the other half to everyone else. */
function readUploadConnections (r: EnvReader, connections: number): number {
  const uploads = r.int('UPSTREAM_UPLOAD_CONNECTIONS', Math.max(1, Math.floor(connections / 2)), { min: 1, max: 4096 })
  if (uploads > connections) r.fail('UPSTREAM_UPLOAD_CONNECTIONS', `${uploads} is more than UPSTREAM_CONNECTIONS (${connections})`)
  return uploads
}

/** ADMIN_ROLE, granted by an issuer only when its entry says so (JWT_ISSUERS grants_admin; the single issuer always). */
function readAdminRole (r: EnvReader, jwt: JwtConfig): string | null {
  const role = r.string('ADMIN_ROLE', 'admin')
  // Held per token (claims.ts holdsAdminRole): it counts only in tokens of an issuer whose entry grants it.
  return jwt.issuers.some((issuer) => issuer.grantsAdmin) ? role : null
}

export interface LoadOptions {
  /**
   * False for commands that only sign or check things (`tokengate token`):
   * they never open a revocation store, so production's Redis requirement
   * and the WORKERS checks do not apply to them.
   */
  readonly serving?: boolean
}

/** Reads and validates the whole environment; throws one ConfigError listing every problem. */
export function loadConfig (env: Env = process.env, { serving = true }: LoadOptions = {}): Config {
  // TOKENGATE_CONFIG's file under the environment: every variable set in the environment wins.
  const merged = mergeConfigFile(env)
  const r = new EnvReader(merged.env)
  r.problems.push(...merged.problems, ...unknownVariables(env))
  const production = r.raw('NODE_ENV') === 'production'
  const refreshTokenTtlS = r.int('REFRESH_TOKEN_EXPIRE_DAYS', 7, { min: 1, max: 365 }) * DAY_S
  const sessionMaxLifetimeS = r.durationS('SESSION_MAX_LIFETIME', refreshTokenTtlS, { min: 60, max: 3650 * DAY_S })
  const jwt = readJwtConfig(r, production, { refreshTokenTtlS, sessionMaxLifetimeS })
  const redis = readRedis(r)
  const metricsPort = r.optionalInt('METRICS_PORT', { min: 1, max: 65535 })
  const upstreamUrl = r.url('UPSTREAM_URL', ['http:', 'https:'])
  const localCacheSize = r.int('LOCAL_CACHE_SIZE', 20_000, { min: 0, max: 10_000_000 })
  const upstreamConnections = r.int('UPSTREAM_CONNECTIONS', 128, { min: 1, max: 4096 })
  const securityProfile = readSecurityProfile(r)
  const tls = readTlsListener(r, securityProfile)
  const config: Config = {
    production,
    development: jwt.ephemeral,
    // The development instance (no key: an ephemeral one, and a printed token) is reachable from this machine only.
    host: r.string('HOST', jwt.ephemeral ? '127.0.0.1' : '0.0.0.0'),
    port: r.int('PORT', 8080, { min: 0, max: 65535 }),
    decisionLog: {
      sample: r.fraction('DECISION_LOG_SAMPLE', 0),
      linesPerSecond: r.int('DECISION_LOG_LINES_PER_S', 10, { min: 1, max: 10_000 })
    },
    logLevel: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    upstreamUrl,
    upstreamTimeoutMs: r.int('UPSTREAM_TIMEOUT_MS', 30_000, { min: 1, max: 600_000 }),
    upstreamConnections,
    upstreamMaxPending: r.int('UPSTREAM_MAX_PENDING', 1024, { min: 0, max: 100_000 }),
    upstreamUploadConnections: readUploadConnections(r, upstreamConnections),
    proxyRequestBufferBytes: r.int('PROXY_REQUEST_BUFFER_BYTES', 65_536, { min: 0, max: 16_777_216 }),
    clientBodyTimeoutMs: r.int('CLIENT_BODY_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    publicPaths: readPublicPaths(r),
    accessRules: readAccessRules(r, jwt.issuers.map((entry) => entry.issuer)),
    upstreamMethodOverride: r.oneOf('UPSTREAM_METHOD_OVERRIDE', ['body', 'none'], 'body'),
    trustedProxies: readTrustedProxies(r),
    authPrefix: readAuthPrefix(r),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 1_048_576, { min: 1024, max: 1_073_741_824 }),
    headersTimeoutMs: r.int('HEADERS_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    requestTimeoutMs: r.int('REQUEST_TIMEOUT_MS', 300_000, { min: 0, max: 3_600_000 }),
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 10_000, { min: 0, max: 600_000 }),
    workers: serving ? readWorkers(r, redis, jwt.ephemeral) : 1,
    redis,
    revocationCheckTimeoutMs: r.int('REVOCATION_CHECK_TIMEOUT_MS', 50, { min: 1, max: 10_000 }),
    // FAPI 2.0 §5.3.4 item 3: revocation status verified; fapi2 refuses an explicit `open` (sender-constraint.ts).
    failMode: r.oneOf('FAIL_MODE', ['open', 'closed'], securityProfile === 'fapi2' ? 'closed' : 'open'),
    maxStalenessMs: r.int('MAX_STALENESS_MS', 1000, { min: 500, max: 600_000 }),
    readyFollowsState: r.oneOf('READY_FOLLOWS_STATE', ['true', 'false'], 'false') === 'true',
    jwt,
    resourceMetadata: readResourceMetadata(r, jwt),
    dpop: readDpop(r, r.raw('RESOURCE_URL') ?? null),
    ssf: readSsf(r, jwt.issuers, jwt.allowHttpKeys),
    accessTokenTtlS: r.int('ACCESS_TOKEN_EXPIRE_MINUTES', 15, { min: 1, max: 1440 }) * 60,
    refreshTokenTtlS,
    sessionMaxLifetimeS,
    adminRole: readAdminRole(r, jwt),
    introspectionClients: readIntrospectionClients(r),
    metricsPort,
    metricsOnMainPort: readMetricsOnMainPort(r, upstreamUrl !== null, metricsPort !== null),
    auditLogFile: r.optionalString('AUDIT_LOG_FILE'),
    alertWebhookUrl: r.url('ALERT_WEBHOOK_URL', ['http:', 'https:']),
    monitor: {
      userFailuresPerHour: r.int('ALERT_USER_FAILURES_PER_HOUR', 10, { min: 0, max: 1_000_000 }),
      userTokenRequestsPerHour: r.int('ALERT_USER_TOKEN_REQUESTS_PER_HOUR', 100, { min: 0, max: 1_000_000 }),
      ipFailuresPerHour: r.int('ALERT_IP_FAILURES_PER_HOUR', 50, { min: 0, max: 1_000_000 }),
      tokenMaxIps: r.int('ALERT_TOKEN_MAX_IPS', 3, { min: 0, max: 1000 }),
      tokenIpWindowS: r.int('ALERT_TOKEN_IP_WINDOW_S', 300, { min: 1, max: 86_400 }),
      revokedRetryWindowS: r.int('ALERT_REVOKED_RETRY_WINDOW_S', 30, { min: 0, max: 600 }),
      trackedTokens: localCacheSize
    },
    rateLimits: {
      logoutPerMinute: r.int('RATE_LIMIT_LOGOUT_PER_MIN', 10, { min: 0, max: 1_000_000 }),
      revokePerMinute: r.int('RATE_LIMIT_REVOKE_PER_MIN', 5, { min: 0, max: 1_000_000 }),
      adminPerMinute: r.int('RATE_LIMIT_ADMIN_PER_MIN', 20, { min: 0, max: 1_000_000 }),
      unauthenticatedPerMinute: r.int('RATE_LIMIT_UNAUTHENTICATED_PER_MIN', 30, { min: 0, max: 1_000_000 }),
      refreshPerMinute: r.int('RATE_LIMIT_REFRESH_PER_MIN', 10, { min: 0, max: 1_000_000 }),
      refreshPerAddressPerMinute: r.int('RATE_LIMIT_REFRESH_PER_ADDRESS_PER_MIN', 300, { min: 0, max: 1_000_000 }),
      oauthPerAddressPerMinute: r.int('RATE_LIMIT_OAUTH_PER_ADDRESS_PER_MIN', 3000, { min: 0, max: 1_000_000 }),
      clientAuthFailuresPerMinute: r.int('RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_MIN', 10, { min: 0, max: 1_000_000 })
    },
    localCacheSize,
    idp: readIdpConfig(r),
    tracing: readTracing(r),
    source: configSource(r, merged.env, merged.file, effectiveSettings(merged.env, merged.sources)),
    securityProfile,
    tls,
    clientCert: readClientCert(r, tls)
  }
  if (securityProfile === 'fapi2') checkFapi2(r, config)
  const allowMemoryStore = r.oneOf('ALLOW_MEMORY_STORE', ['true', 'false'], 'false') === 'true'
  if (serving && production && redis === null && !allowMemoryStore) {
    r.fail('REDIS_URL', 'NODE_ENV=production needs shared revocation state: set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (or ALLOW_MEMORY_STORE=true for a single instance)')
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems)
  return deepFreeze(config)
}

/** The files a reload watches: the configuration file and the files of the settings that change live. */
function configSource (r: EnvReader, env: Env, file: string | null, effective: ConfigSource['effective']): ConfigSource {
  const watched = [file, r.optionalString('ACCESS_RULES_FILE')]
  const issuers = r.raw('JWT_ISSUERS')
  if (issuers !== undefined && !/^[[{]/.test(issuers)) watched.push(issuers)
  for (const key of r.list('JWT_PUBLIC_KEYS')) {
    const path = key.replace(/^[A-Za-z0-9._:-]+=/, '')
    if (!key.startsWith('-----BEGIN') && !path.startsWith('-----BEGIN')) watched.push(path)
  }
  const settings = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== '')) as Record<string, string>
  return { file, settings, effective, watched: [...new Set(watched.filter((path): path is string => path !== null))] }
}

// Descends into objects that are already frozen too: a frozen rule may still hold mutable lists.
// URLs are left alone (their setters ignore freezing); their type is Readonly<URL> instead.
function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof URL)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
