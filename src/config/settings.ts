/**
 * The one list of the gateway's settings: every variable `src/config/` reads, how the
 * configuration file (TOKENGATE_CONFIG) may write it, whether a reload may change it, and whether
 * its value is a secret. The JSON Schema of the file (`tokengate config schema`,
 * docs/tokengate-config.schema.json), the check of unknown variables, the redacted effective
 * configuration and the reload's "needs a restart" are all derived from it; test/config checks it
 * against what the readers read and what docs/configuration.md lists.
 */

/** `value`: a string, number or boolean; `list`: a comma list, or a list in the file; `document`: inline JSON, a path, or native YAML in the file. */
export type SettingKind = 'value' | 'list' | 'document'

export interface Setting {
  readonly name: string
  readonly kind: SettingKind
  /** Changed by a reload (SIGHUP, file change) without a restart. */
  readonly live: boolean
  /** Never logged or printed: shown as [redacted]. */
  readonly secret: boolean
}

const LIVE = new Set(['ACCESS_RULES', 'ACCESS_RULES_FILE', 'PUBLIC_PATHS', 'JWT_SECRET', 'JWT_PREVIOUS_SECRET', 'JWT_PUBLIC_KEYS', 'JWT_ISSUERS'])
// Keys, passwords and client secrets. REDIS_URL and ALERT_WEBHOOK_URL are URLs: their credentials
// and paths are redacted, their host shown (redactValue). Documents lose their SECRET_MEMBERS.
const SECRET = new Set(['JWT_SECRET', 'JWT_PREVIOUS_SECRET', 'JWT_PRIVATE_KEY', 'REDIS_PASSWORD', 'DPOP_NONCE_SECRET'])
const LISTS = new Set([
  'BACKCHANNEL_LOGOUT_CLIENT_IDS', 'INTROSPECTION_CLIENTS', 'JWT_ALGORITHMS', 'JWT_PUBLIC_KEYS', 'PUBLIC_PATHS',
  'REVOCATION_PRIVILEGED_CLIENTS', 'ROLES_CLAIM', 'TRUSTED_PROXIES', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS', 'DPOP_SIGNING_ALGS', 'DPOP_ORIGINS'
])
const DOCUMENTS = new Set(['JWT_ISSUERS', 'SSF_TRANSMITTERS', 'ACCESS_RULES'])

const NAMES = [
  'NODE_ENV', 'PORT', 'HOST', 'HEADERS_TIMEOUT_MS', 'REQUEST_TIMEOUT_MS', 'CLIENT_BODY_TIMEOUT_MS', 'SHUTDOWN_GRACE_MS',
  'LOG_LEVEL', 'DECISION_LOG_SAMPLE', 'DECISION_LOG_LINES_PER_S', 'WORKERS',
  'UPSTREAM_URL', 'UPSTREAM_TIMEOUT_MS', 'UPSTREAM_CONNECTIONS', 'UPSTREAM_MAX_PENDING', 'UPSTREAM_UPLOAD_CONNECTIONS',
  'PROXY_REQUEST_BUFFER_BYTES', 'UPSTREAM_METHOD_OVERRIDE', 'BODY_LIMIT_BYTES', 'TRUSTED_PROXIES', 'AUTH_PREFIX',
  'PUBLIC_PATHS', 'ACCESS_RULES', 'ACCESS_RULES_FILE',
  'JWT_SECRET', 'JWT_PREVIOUS_SECRET', 'JWT_PUBLIC_KEYS', 'JWT_PRIVATE_KEY', 'JWT_SIGNING_KID', 'JWT_ALGORITHMS',
  'JWT_ISSUER', 'JWT_AUDIENCE', 'JWKS_URL', 'JWT_ISSUERS', 'JWKS_COOLDOWN_S', 'JWKS_TIMEOUT_MS', 'JWT_CLOCK_TOLERANCE_S',
  'JWT_MAX_TOKEN_LIFETIME', 'MAX_TOKEN_BYTES', 'JWT_VERIFY_CACHE_SIZE', 'JWT_REQUIRED_TYP', 'ROLES_CLAIM', 'ADMIN_ROLE',
  'ACCESS_TOKEN_EXPIRE_MINUTES', 'REFRESH_TOKEN_EXPIRE_DAYS', 'SESSION_MAX_LIFETIME', 'RESOURCE_URL',
  'REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_PASSWORD', 'REDIS_KEY_PREFIX',
  'REDIS_MIN_REPLICAS_ACK', 'ALLOW_MEMORY_STORE', 'REVOCATION_CHECK_TIMEOUT_MS', 'FAIL_MODE', 'MAX_STALENESS_MS',
  'READY_FOLLOWS_STATE', 'LOCAL_CACHE_SIZE',
  'INTROSPECTION_CLIENTS', 'REVOCATION_PRIVILEGED_CLIENTS', 'METRICS_PORT', 'METRICS_ON_MAIN_PORT', 'AUDIT_LOG_FILE',
  'ALERT_WEBHOOK_URL', 'ALERT_USER_FAILURES_PER_HOUR', 'ALERT_USER_TOKEN_REQUESTS_PER_HOUR', 'ALERT_IP_FAILURES_PER_HOUR',
  'ALERT_TOKEN_MAX_IPS', 'ALERT_TOKEN_IP_WINDOW_S', 'ALERT_REVOKED_RETRY_WINDOW_S',
  'RATE_LIMIT_LOGOUT_PER_MIN', 'RATE_LIMIT_REVOKE_PER_MIN', 'RATE_LIMIT_ADMIN_PER_MIN', 'RATE_LIMIT_UNAUTHENTICATED_PER_MIN',
  'RATE_LIMIT_REFRESH_PER_MIN', 'RATE_LIMIT_REFRESH_PER_ADDRESS_PER_MIN', 'RATE_LIMIT_OAUTH_PER_ADDRESS_PER_MIN',
  'RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_MIN',
  'BACKCHANNEL_LOGOUT_CLIENT_IDS', 'BACKCHANNEL_LOGOUT_MAX_AGE', 'BACKCHANNEL_RELAY_TIMEOUT_MS', 'IDP_RETRY_QUEUE_SIZE',
  'IDP_RETRY_MAX_AGE', 'SSF_TRANSMITTERS', 'SSF_REPLAY_WINDOW', 'SSF_REQUEST_TIMEOUT_MS',
  'DPOP', 'DPOP_SIGNING_ALGS', 'DPOP_PROOF_MAX_AGE_S', 'DPOP_NONCE', 'DPOP_NONCE_SECRET', 'DPOP_ORIGINS', 'DPOP_FORWARD_PROOF',
  'TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_CLIENT_CERT', 'TLS_CLIENT_CA_FILE', 'CLIENT_CERT_HEADER', 'CLIENT_CERT_VERIFY', 'SECURITY_PROFILE'
] as const

export const SETTINGS: readonly Setting[] = Object.freeze(NAMES.map((name) => Object.freeze({
  name,
  kind: DOCUMENTS.has(name) ? 'document' : LISTS.has(name) ? 'list' : 'value',
  live: LIVE.has(name),
  secret: SECRET.has(name)
} satisfies Setting)))

export const SETTING_NAMES: ReadonlySet<string> = new Set(NAMES)

/** The file's own variable; never a key of the file. */
export const CONFIG_FILE_VARIABLE = 'TOKENGATE_CONFIG'

/** Read by the `admin` commands only (src/config/admin-client.ts): known, never in the gateway's file. */
export const CLIENT_VARIABLES: readonly string[] = ['TOKENGATE_URL', 'TOKENGATE_ADMIN_TOKEN', 'TOKENGATE_ADMIN_TOKEN_FILE']

/**
 * OpenTelemetry's own variables (OTEL_*, config/tracing.ts): read from the environment only, as
 * every OpenTelemetry SDK reads them, so never a key of the file. Likewise Node.js' own
 * NODE_TLS_REJECT_UNAUTHORIZED, which SECURITY_PROFILE=fapi2 refuses at 0 (sender-constraint.ts).
 */
export const ENVIRONMENT_ONLY = /^(?:OTEL_|NODE_TLS_REJECT_UNAUTHORIZED$)/

/** Every variable tokengate reads. */
export const KNOWN_VARIABLES: ReadonlySet<string> = new Set([...NAMES, CONFIG_FILE_VARIABLE, ...CLIENT_VARIABLES])

/** Members of JWT_ISSUERS and SSF_TRANSMITTERS entries that hold credentials (ssf-transmitters-schema.ts). */
export const SECRET_MEMBERS: ReadonlySet<string> = new Set(['authorization', 'bearer', 'client_secret'])

const STRING_LIST = { type: 'array', items: { type: 'string' } }

function schemaOf ({ name, kind, live, secret }: Setting): object {
  const notes = [live ? 'changes on reload' : 'read at start', secret ? 'secret: never logged' : ''].filter((note) => note !== '').join('; ')
  const description = `${name} (docs/configuration.md); ${notes}`
  if (kind === 'list') return { description, anyOf: [{ type: 'string' }, STRING_LIST] }
  if (kind === 'document') return { description, anyOf: [{ type: 'string' }, { type: 'array' }] }
  return { description, type: ['string', 'number', 'boolean'] }
}

/**
 * The JSON Schema (draft-07) of the configuration file: one key per setting, named as its
 * variable; unknown keys are errors. Each value's own rules (ranges, URLs) are checked by the
 * same readers as the environment's, so that the two never disagree.
 */
export function configFileSchema (): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://tokengate.invalid/tokengate-config.schema.json',
    title: 'tokengate configuration file (TOKENGATE_CONFIG)',
    description: 'Keys are the environment variables of docs/configuration.md; a variable set in the environment overrides the file.',
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(SETTINGS.map((setting) => [setting.name, schemaOf(setting)]))
  }
}
