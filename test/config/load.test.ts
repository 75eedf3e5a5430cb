import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { configProblems } from '../helpers/config.js'
import { SECRET, keyPair } from '../helpers/tokens.js'
import { tempDir, tempFile } from '../helpers/temp-dir.js'

const BASE = { JWT_SECRET: SECRET }

const problems = configProblems

t.test('defaults follow the design table', async (t) => {
  const config = loadConfig(BASE)
  t.match(config, {
    port: 8080,
    host: '0.0.0.0',
    upstreamUrl: null,
    publicPaths: [],
    trustedProxies: ['127.0.0.1', '::1'],
    authPrefix: '/auth',
    redis: null,
    revocationCheckTimeoutMs: 50,
    failMode: 'open',
    accessTokenTtlS: 900,
    refreshTokenTtlS: 7 * 86400,
    adminRole: 'admin',
    metricsPort: null,
    auditLogFile: null,
    rateLimits: { logoutPerMinute: 10, revokePerMinute: 5, adminPerMinute: 20 }
  })
  t.same(config.jwt.algorithms, ['HS256'])
  t.equal(config.jwt.clockToleranceS, 5)
  t.equal(config.development, false)
})

t.test('defaults of the optional variables beyond the design table', async (t) => {
  const config = loadConfig(BASE)
  t.match(config, {
    logLevel: 'info',
    upstreamTimeoutMs: 30_000,
    bodyLimitBytes: 1_048_576,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 300_000,
    shutdownGraceMs: 10_000,
    accessRules: [],
    upstreamMethodOverride: 'body',
    introspectionClients: [],
    alertWebhookUrl: null,
    localCacheSize: 20_000
  })
  t.match(config.jwt, {
    secret: SECRET,
    previousSecret: null,
    publicKeys: [],
    jwksUrl: null,
    jwksCooldownMs: 30_000,
    jwksTimeoutMs: 5000,
    issuer: null,
    audience: null,
    maxTokenBytes: 8192,
    verifyCacheSize: 5000,
    signing: { algorithm: 'HS256', key: SECRET, kid: null }
  })
  const redis = loadConfig({ ...BASE, REDIS_URL: 'redis://127.0.0.1:6380/0' }).redis
  t.match(redis, { topology: { mode: 'standalone', url: 'redis://127.0.0.1:6380/0' }, keyPrefix: 'revoked:', minReplicasAck: 0, password: null })
})

t.test('the configuration is frozen all the way down', async (t) => {
  const dir = tempDir(t, 'tg-frozen-')
  const rules = join(dir, 'rules.json')
  writeFileSync(rules, JSON.stringify([{ path: '/pay', scopes: ['pay'] }]))
  const config = loadConfig({
    ...BASE,
    PUBLIC_PATHS: '/a',
    ACCESS_RULES_FILE: rules,
    REDIS_SENTINELS: 's1:26379,s2:26379',
    REDIS_SENTINEL_NAME: 'primary',
    INTROSPECTION_CLIENTS: 'api:s3cret-s3cret-s3cret-s3cret-s3cret'
  })
  const objects: Array<[string, unknown]> = [['config', config]]
  for (let i = 0; i < objects.length; i++) {
    const [path, value] = objects[i]
    if (value instanceof URL) continue
    t.ok(Object.isFrozen(value), `${path} is frozen`)
    for (const [key, child] of Object.entries(value as object)) {
      if (child !== null && typeof child === 'object') objects.push([`${path}.${key}`, child])
    }
  }
  t.ok(objects.length > 15, `walked ${objects.length} objects, nested rules and sentinels included`)
  t.throws(() => { (config.publicPaths as string[]).push('/b') })
  t.throws(() => { (config.accessRules[0].scopes as string[]).push('admin') })
  t.notOk(Reflect.set(config, 'failMode', 'closed'), 'a top-level value cannot be replaced')
})

t.test('inline PEM keys, with newlines escaped as \\n, and kid=value pairs', async (t) => {
  const rsa = keyPair('rsa')
  const ec = keyPair('ec')
  const escaped = rsa.privatePem.replaceAll('\n', '\\n')
  const config = loadConfig({
    JWT_ALGORITHMS: 'RS256,ES256',
    JWT_PUBLIC_KEYS: `${rsa.publicPem},ec-1=${ec.publicPem.replaceAll('\n', '\\n')}`,
    JWT_PRIVATE_KEY: escaped,
    JWT_SIGNING_KID: 'rsa-1'
  })
  t.same(config.jwt.publicKeys.map((k) => k.kid), [null, 'ec-1'])
  t.match(config.jwt.signing, { algorithm: 'RS256', kid: 'rsa-1', key: rsa.privatePem })
})

t.test('a private key whose public half is not configured stops start-up', async (t) => {
  const found = problems({
    JWT_ALGORITHMS: 'RS256',
    JWT_PUBLIC_KEYS: keyPair('rsa').publicPem,
    JWT_PRIVATE_KEY: keyPair('rsa').privatePem
  })
  t.match(found.join('\n'), /JWT_PRIVATE_KEY: its public key is not among JWT_PUBLIC_KEYS/)
})

t.test('a mangled inline private key is never echoed in the error', async (t) => {
  const body = keyPair('ec').privatePem.split('\n').slice(1, -2).join('')
  const found = problems({ JWT_ALGORITHMS: 'ES256', JWT_PUBLIC_KEYS: keyPair('ec').publicPem, JWT_PRIVATE_KEY: body })
  const line = found.find((problem) => problem.startsWith('JWT_PRIVATE_KEY: '))
  t.match(line, /expected a PEM starting with -----BEGIN or a readable file path/)
  t.notMatch(found.join('\n'), body.slice(0, 24))
})

t.test('a URL with a password in it is never echoed in the error', async (t) => {
  const found = problems({ ...BASE, REDIS_URL: 'redis//:hunter2-password@cache:6379' })
  t.match(found.join('\n'), /REDIS_URL: not a URL/)
  t.notMatch(found.join('\n'), /hunter2/)
})

const cases: Array<[string, Record<string, string>, string, RegExp]> = [
  ['a bad upstream URL', { UPSTREAM_URL: 'not a url' }, 'UPSTREAM_URL', /not a URL/],
  ['an upstream with another protocol', { UPSTREAM_URL: 'ftp://x' }, 'UPSTREAM_URL', /http: or https:/],
  ['a bad Redis URL', { REDIS_URL: 'http://redis:6379' }, 'REDIS_URL', /redis: or rediss:/],
  ['a bad JWKS URL', { JWKS_URL: 'jwks', JWT_ALGORITHMS: 'RS256', JWT_SECRET: '' }, 'JWKS_URL', /not a URL/],
  ['a bad webhook URL', { ALERT_WEBHOOK_URL: '::' }, 'ALERT_WEBHOOK_URL', /not a URL/],
  ['a webhook with another protocol', { ALERT_WEBHOOK_URL: 'mailto:soc@example.com' }, 'ALERT_WEBHOOK_URL', /http: or https:/],
  ['a Redis URL without host', { REDIS_URL: 'redis://' }, 'REDIS_URL', /no host/],
  ['a JWKS URL with another protocol', { JWKS_URL: 'file:///etc/jwks.json', JWT_ALGORITHMS: 'RS256', JWT_SECRET: '' }, 'JWKS_URL', /https: or http:/],
  ['an unknown algorithm', { JWT_ALGORITHMS: 'HS256,XS999' }, 'JWT_ALGORITHMS', /unknown algorithm "XS999"/],
  ['none among the algorithms', { JWT_ALGORITHMS: 'HS256,none' }, 'JWT_ALGORITHMS', /"none" is never accepted/],
  ['None in any case', { JWT_ALGORITHMS: 'NONE' }, 'JWT_ALGORITHMS', /never accepted/],
  ['an unreadable key file', { JWT_ALGORITHMS: 'RS256', JWT_SECRET: '', JWT_PUBLIC_KEYS: '/nonexistent/key.pem' }, 'JWT_PUBLIC_KEYS', /cannot read \/nonexistent\/key.pem \(ENOENT\)/],
  ['an unreadable private key', { JWT_PRIVATE_KEY: '/nonexistent/private.pem' }, 'JWT_PRIVATE_KEY', /cannot read/],
  ['an unreadable rules file', { ACCESS_RULES_FILE: '/nonexistent/rules.json' }, 'ACCESS_RULES_FILE', /cannot read/],
  ['FAIL_MODE=maybe', { FAIL_MODE: 'maybe' }, 'FAIL_MODE', /expected one of open, closed/],
  ['UPSTREAM_METHOD_OVERRIDE=off', { UPSTREAM_METHOD_OVERRIDE: 'off' }, 'UPSTREAM_METHOD_OVERRIDE', /expected one of body, none/],
  ['a negative timeout', { REVOCATION_CHECK_TIMEOUT_MS: '-5' }, 'REVOCATION_CHECK_TIMEOUT_MS', /out of range; expected an integer from 1/],
  ['a non-numeric timeout', { REVOCATION_CHECK_TIMEOUT_MS: '50ms' }, 'REVOCATION_CHECK_TIMEOUT_MS', /"50ms" is not an integer/],
  ['a fractional timeout', { UPSTREAM_TIMEOUT_MS: '1.5' }, 'UPSTREAM_TIMEOUT_MS', /not an integer/],
  ['a zero upstream timeout', { UPSTREAM_TIMEOUT_MS: '0' }, 'UPSTREAM_TIMEOUT_MS', /out of range/],
  ['no upstream connections', { UPSTREAM_CONNECTIONS: '0' }, 'UPSTREAM_CONNECTIONS', /out of range; expected an integer from 1 to 4096/],
  ['more upload connections than connections', { UPSTREAM_CONNECTIONS: '8', UPSTREAM_UPLOAD_CONNECTIONS: '9' }, 'UPSTREAM_UPLOAD_CONNECTIONS', /9 is more than UPSTREAM_CONNECTIONS \(8\)/],
  ['a negative upstream queue', { UPSTREAM_MAX_PENDING: '-1' }, 'UPSTREAM_MAX_PENDING', /out of range; expected an integer from 0/],
  ['a body buffer over 16 MiB', { PROXY_REQUEST_BUFFER_BYTES: '16777217' }, 'PROXY_REQUEST_BUFFER_BYTES', /out of range/],
  ['a body idle timeout of 0', { CLIENT_BODY_TIMEOUT_MS: '0' }, 'CLIENT_BODY_TIMEOUT_MS', /out of range; expected an integer from 100/],
  ['a negative JWKS timeout', { JWKS_TIMEOUT_MS: '-1' }, 'JWKS_TIMEOUT_MS', /out of range/],
  ['a negative clock tolerance', { JWT_CLOCK_TOLERANCE_S: '-5' }, 'JWT_CLOCK_TOLERANCE_S', /out of range; expected an integer from 0 to 300/],
  ['an unknown log level', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', /expected one of fatal, error, warn, info, debug, trace, silent/],
  ['a port out of range', { PORT: '70000' }, 'PORT', /out of range/],
  ['a short HMAC secret', { JWT_SECRET: 'short' }, 'JWT_SECRET', /at least 32 bytes/],
  ['a short previous secret', { JWT_PREVIOUS_SECRET: 'old' }, 'JWT_PREVIOUS_SECRET', /at least 32 bytes/],
  ['Redis URL and sentinels', { REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 'b:26379', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_URL', /only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS/],
  ['two Redis topologies', { REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' }, 'REDIS_URL', /only one of/],
  ['sentinels without a name', { REDIS_SENTINELS: 'a:26379' }, 'REDIS_SENTINEL_NAME', /required/],
  ['a cluster node without port', { REDIS_CLUSTER_NODES: 'a' }, 'REDIS_CLUSTER_NODES', /not host:port/],
  ['a bad trusted proxy', { TRUSTED_PROXIES: 'not-an-ip' }, 'TRUSTED_PROXIES', /addresses or CIDR/],
  ['an AUTH_PREFIX without slash', { AUTH_PREFIX: 'auth' }, 'AUTH_PREFIX', /must be a path/],
  ['a public path with dot segments', { PUBLIC_PATHS: '/public/../x' }, 'PUBLIC_PATHS', /without ambiguity/],
  ['a public path with a path parameter', { PUBLIC_PATHS: '/public;x' }, 'PUBLIC_PATHS', /without ambiguity/],
  ['a public path with KELVIN SIGN', { PUBLIC_PATHS: '/\u212Ayc' }, 'PUBLIC_PATHS', /turns into ASCII/],
  ['an introspection client without secret', { INTROSPECTION_CLIENTS: 'api' }, 'INTROSPECTION_CLIENTS', /id:secret/],
  ['HS algorithms with only asymmetric keys', { JWT_ALGORITHMS: 'RS256', JWT_SECRET: SECRET }, 'JWT_SECRET', /allows no HS/],
  ['asymmetric algorithms without keys', { JWT_ALGORITHMS: 'HS256,RS256' }, 'JWT_PUBLIC_KEYS', /JWT_PUBLIC_KEYS or JWKS_URL is required/],
  ['a previous secret without a current one', { JWT_SECRET: '', JWT_PREVIOUS_SECRET: SECRET, JWT_ALGORITHMS: 'HS256', JWKS_URL: 'https://x/jwks' }, 'JWT_PREVIOUS_SECRET', /without JWT_SECRET/]
]

for (const [name, env, variable, message] of cases) {
  t.test(`${name} stops start-up naming ${variable}`, async (t) => {
    const found = problems({ ...BASE, ...env })
    const line = found.find((problem) => problem.startsWith(`${variable}: `))
    t.ok(line, `a problem names ${variable}: ${JSON.stringify(found)}`)
    t.match(line, message)
  })
}

t.test('issue 16: JWT_MAX_TOKEN_LIFETIME defaults to the longest lifetime tokengate issues; a shorter one stops start-up naming it', async (t) => {
  const DAY = 86_400
  t.equal(loadConfig(BASE).jwt.maxTokenLifetimeS, 7 * DAY, 'default: the refresh lifetime')
  t.equal(loadConfig({ ...BASE, SESSION_MAX_LIFETIME: '30d' }).jwt.maxTokenLifetimeS, 30 * DAY, 'or SESSION_MAX_LIFETIME when longer')
  t.equal(loadConfig({ ...BASE, SESSION_MAX_LIFETIME: '12h' }).jwt.maxTokenLifetimeS, 7 * DAY, 'never below the refresh lifetime')
  t.equal(loadConfig({ ...BASE, JWT_MAX_TOKEN_LIFETIME: '90d' }).jwt.maxTokenLifetimeS, 90 * DAY)
  const refused: Array<[Record<string, string>, RegExp]> = [
    [{ SESSION_MAX_LIFETIME: '30d', JWT_MAX_TOKEN_LIFETIME: '8d' }, /^JWT_MAX_TOKEN_LIFETIME: .*shorter than SESSION_MAX_LIFETIME/],
    [{ REFRESH_TOKEN_EXPIRE_DAYS: '14', SESSION_MAX_LIFETIME: '1d', JWT_MAX_TOKEN_LIFETIME: '10d' }, /^JWT_MAX_TOKEN_LIFETIME: .*shorter than the refresh lifetime REFRESH_TOKEN_EXPIRE_DAYS/],
    [{ JWT_MAX_TOKEN_LIFETIME: '1h' }, /^JWT_MAX_TOKEN_LIFETIME: .*shorter than SESSION_MAX_LIFETIME/],
    [{ JWT_MAX_TOKEN_LIFETIME: '90' }, /^JWT_MAX_TOKEN_LIFETIME: "90" is not a duration/],
    [{ JWT_MAX_TOKEN_LIFETIME: '3651d' }, /^JWT_MAX_TOKEN_LIFETIME: "3651d" is not a duration from 60s to 3650d/]
  ]
  for (const [env, message] of refused) t.match(problems({ ...BASE, ...env }), [message], JSON.stringify(env))
})

t.test('production without key material is an error, never an ephemeral key', async (t) => {
  const found = problems({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1' })
  t.match(found.join('\n'), /JWT_SECRET: NODE_ENV=production needs key material/)
})

t.test('production without Redis needs an explicit opt-in', async (t) => {
  t.match(problems({ ...BASE, NODE_ENV: 'production' }).join('\n'), /REDIS_URL: NODE_ENV=production needs shared revocation state/)
  t.same(problems({ ...BASE, NODE_ENV: 'production', ALLOW_MEMORY_STORE: 'true' }), [])
  t.match(problems({ ...BASE, NODE_ENV: 'production', ALLOW_MEMORY_STORE: 'yes' }).join('\n'), /ALLOW_MEMORY_STORE: "yes" is not accepted; expected one of true, false/)
})

t.test('no configuration at all outside production gives the development instance', async (t) => {
  const config = loadConfig({})
  t.equal(config.development, true)
  t.equal(config.jwt.ephemeral, true)
  t.ok(config.jwt.secret !== null && config.jwt.secret.length >= 32)
  t.equal(config.redis, null)
  t.not(loadConfig({}).jwt.secret, config.jwt.secret, 'a new key each start')
})

t.test('every problem is reported at once', async (t) => {
  const found = problems({ ...BASE, FAIL_MODE: 'maybe', PORT: 'x', JWT_ALGORITHMS: 'HS256,none' })
  t.equal(found.length, 3)
  const lines = new ConfigError(found).message.split('\n').slice(1)
  t.same(lines.map((line) => line.trim().split(':')[0]).sort(), ['FAIL_MODE', 'JWT_ALGORITHMS', 'PORT'], 'one line per variable')
})

t.test('key files: a PEM whose family JWT_ALGORITHMS excludes is refused', async (t) => {
  const dir = tempDir(t, 'tg-config-')
  const ec = keyPair('ec')
  writeFileSync(join(dir, 'ec.pem'), ec.publicPem)
  writeFileSync(join(dir, 'garbage.pem'), 'not a key')
  t.match(problems({ JWT_ALGORITHMS: 'RS256', JWT_PUBLIC_KEYS: join(dir, 'ec.pem') }).join(), /JWT_PUBLIC_KEYS: .*ec key, but JWT_ALGORITHMS allows none/)
  t.match(problems({ JWT_ALGORITHMS: 'RS256', JWT_PUBLIC_KEYS: join(dir, 'garbage.pem') }).join(), /not a PEM public key/)
  const config = loadConfig({ JWT_ALGORITHMS: 'ES256', JWT_PUBLIC_KEYS: `k1=${join(dir, 'ec.pem')}` })
  t.equal(config.jwt.publicKeys[0].kid, 'k1')
})

t.test('access rules: a malformed file names the rule', async (t) => {
  const dir = tempDir(t, 'tg-rules-')
  const file = join(dir, 'rules.json')
  writeFileSync(file, JSON.stringify([{ path: '/payments', method: 'POST', scopes: ['payments:write'] }, { path: 'relative', scopes: ['x'] }]))
  t.match(problems({ ...BASE, ACCESS_RULES_FILE: file }).join(), /ACCESS_RULES_FILE: rule 1/)
  writeFileSync(file, '{not json')
  t.match(problems({ ...BASE, ACCESS_RULES_FILE: file }).join(), /is not JSON/)
  writeFileSync(file, JSON.stringify([{ path: '/payments/', method: ['post', 'put'], scopes: 'payments:write' }]))
  const [rule] = loadConfig({ ...BASE, ACCESS_RULES_FILE: file }).accessRules
  t.same(rule, { methods: ['POST', 'PUT'], pathPrefix: '/payments', scopes: ['payments:write'], roles: [], issuers: [] })
})

t.test('configured paths are canonical as request paths are (every escape decoded), or stop start-up', async (t) => {
  const file = tempFile(t, 'rules.json', JSON.stringify([{ path: '/%70ay%6dents//caf%c3%a9/', scopes: ['x'] }, { path: '/café', scopes: ['x'] }, { path: '/v1/accounts%3Aclose', scopes: ['x'] }]))
  const config = loadConfig({ ...BASE, ACCESS_RULES_FILE: file, PUBLIC_PATHS: '/%70ublic/,/doc%c3%a9,/users/%40me' })
  t.same(config.accessRules.map((rule) => rule.pathPrefix), ['/payments/café', '/café', '/v1/accounts:close'])
  t.same(config.publicPaths, ['/public', '/docé', '/users/@me'])
  writeFileSync(file, JSON.stringify([{ path: '/x/%2e%2e/admin', scopes: ['x'] }]))
  t.match(problems({ ...BASE, ACCESS_RULES_FILE: file }).join(), /ACCESS_RULES_FILE: rule 0 .*without ambiguity/)
  for (const path of ['/\u0130d', '/cafe\u0301', '/\uFF0Fadmin']) {
    writeFileSync(file, JSON.stringify([{ path, scopes: ['x'] }]))
    t.match(problems({ ...BASE, ACCESS_RULES_FILE: file }).join(), /ACCESS_RULES_FILE: rule 0 .*NFC/, path)
  }
})
