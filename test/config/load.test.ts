import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { SECRET, keyPair } from '../helpers/tokens.js'

const BASE = { JWT_SECRET: SECRET }

function problems (env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems]
    throw err
  }
  return []
}

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

t.test('the configuration is frozen all the way down', async (t) => {
  const config = loadConfig({ ...BASE, PUBLIC_PATHS: '/a' })
  t.ok(Object.isFrozen(config))
  t.ok(Object.isFrozen(config.jwt))
  t.ok(Object.isFrozen(config.publicPaths))
  t.throws(() => { (config.publicPaths as string[]).push('/b') })
})

const cases: Array<[string, Record<string, string>, string, RegExp]> = [
  ['a bad upstream URL', { UPSTREAM_URL: 'not a url' }, 'UPSTREAM_URL', /not a URL/],
  ['an upstream with another protocol', { UPSTREAM_URL: 'ftp://x' }, 'UPSTREAM_URL', /http: or https:/],
  ['a bad Redis URL', { REDIS_URL: 'http://redis:6379' }, 'REDIS_URL', /redis: or rediss:/],
  ['a bad JWKS URL', { JWKS_URL: 'jwks', JWT_ALGORITHMS: 'RS256', JWT_SECRET: '' }, 'JWKS_URL', /not a URL/],
  ['a bad webhook URL', { ALERT_WEBHOOK_URL: '::' }, 'ALERT_WEBHOOK_URL', /not a URL/],
  ['an unknown algorithm', { JWT_ALGORITHMS: 'HS256,XS999' }, 'JWT_ALGORITHMS', /unknown algorithm "XS999"/],
  ['none among the algorithms', { JWT_ALGORITHMS: 'HS256,none' }, 'JWT_ALGORITHMS', /"none" is never accepted/],
  ['None in any case', { JWT_ALGORITHMS: 'NONE' }, 'JWT_ALGORITHMS', /never accepted/],
  ['an unreadable key file', { JWT_ALGORITHMS: 'RS256', JWT_SECRET: '', JWT_PUBLIC_KEYS: '/nonexistent/key.pem' }, 'JWT_PUBLIC_KEYS', /cannot read \/nonexistent\/key.pem \(ENOENT\)/],
  ['an unreadable private key', { JWT_PRIVATE_KEY: '/nonexistent/private.pem' }, 'JWT_PRIVATE_KEY', /cannot read/],
  ['an unreadable rules file', { ACCESS_RULES_FILE: '/nonexistent/rules.json' }, 'ACCESS_RULES_FILE', /cannot read/],
  ['FAIL_MODE=maybe', { FAIL_MODE: 'maybe' }, 'FAIL_MODE', /expected one of open, closed/],
  ['a negative timeout', { REVOCATION_CHECK_TIMEOUT_MS: '-5' }, 'REVOCATION_CHECK_TIMEOUT_MS', /out of range; expected an integer from 1/],
  ['a non-numeric timeout', { REVOCATION_CHECK_TIMEOUT_MS: '50ms' }, 'REVOCATION_CHECK_TIMEOUT_MS', /"50ms" is not an integer/],
  ['a port out of range', { PORT: '70000' }, 'PORT', /out of range/],
  ['a short HMAC secret', { JWT_SECRET: 'short' }, 'JWT_SECRET', /at least 32 bytes/],
  ['two Redis topologies', { REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' }, 'REDIS_URL', /only one of/],
  ['sentinels without a name', { REDIS_SENTINELS: 'a:26379' }, 'REDIS_SENTINEL_NAME', /required/],
  ['a cluster node without port', { REDIS_CLUSTER_NODES: 'a' }, 'REDIS_CLUSTER_NODES', /not host:port/],
  ['a bad trusted proxy', { TRUSTED_PROXIES: 'not-an-ip' }, 'TRUSTED_PROXIES', /addresses or CIDR/],
  ['an AUTH_PREFIX without slash', { AUTH_PREFIX: 'auth' }, 'AUTH_PREFIX', /must be a path/],
  ['a public path with dot segments', { PUBLIC_PATHS: '/public/../x' }, 'PUBLIC_PATHS', /plain path prefix/],
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

t.test('production without key material is an error, never an ephemeral key', async (t) => {
  const found = problems({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1' })
  t.match(found.join('\n'), /JWT_SECRET: NODE_ENV=production needs key material/)
})

t.test('production without Redis needs an explicit opt-in', async (t) => {
  t.match(problems({ ...BASE, NODE_ENV: 'production' }).join('\n'), /REDIS_URL: NODE_ENV=production needs shared revocation state/)
  t.same(problems({ ...BASE, NODE_ENV: 'production', ALLOW_MEMORY_STORE: 'true' }), [])
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
  const dir = mkdtempSync(join(tmpdir(), 'tg-config-'))
  const ec = keyPair('ec')
  writeFileSync(join(dir, 'ec.pem'), ec.publicPem)
  writeFileSync(join(dir, 'garbage.pem'), 'not a key')
  t.match(problems({ JWT_ALGORITHMS: 'RS256', JWT_PUBLIC_KEYS: join(dir, 'ec.pem') }).join(), /JWT_PUBLIC_KEYS: .*ec key, but JWT_ALGORITHMS allows none/)
  t.match(problems({ JWT_ALGORITHMS: 'RS256', JWT_PUBLIC_KEYS: join(dir, 'garbage.pem') }).join(), /not a PEM public key/)
  const config = loadConfig({ JWT_ALGORITHMS: 'ES256', JWT_PUBLIC_KEYS: `k1=${join(dir, 'ec.pem')}` })
  t.equal(config.jwt.publicKeys[0].kid, 'k1')
})

t.test('access rules: a malformed file names the rule', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-rules-'))
  const file = join(dir, 'rules.json')
  writeFileSync(file, JSON.stringify([{ path: '/payments', method: 'POST', scopes: ['payments:write'] }, { path: 'relative', scopes: ['x'] }]))
  t.match(problems({ ...BASE, ACCESS_RULES_FILE: file }).join(), /ACCESS_RULES_FILE: rule 1/)
  writeFileSync(file, '{not json')
  t.match(problems({ ...BASE, ACCESS_RULES_FILE: file }).join(), /is not JSON/)
  writeFileSync(file, JSON.stringify([{ path: '/payments/', method: ['post', 'put'], scopes: 'payments:write' }]))
  const [rule] = loadConfig({ ...BASE, ACCESS_RULES_FILE: file }).accessRules
  t.same(rule, { methods: ['POST', 'PUT'], pathPrefix: '/payments', scopes: ['payments:write'], roles: [] })
})
