import t from 'tap'
import { stringify } from 'yaml'
import { REDACTED, redactValue } from '../../src/config/effective.js'
import { loadConfig } from '../../src/config/load.js'
import { SETTINGS } from '../../src/config/settings.js'
import { configProblems } from '../helpers/config.js'
import { tempFile } from '../helpers/temp-dir.js'
import { SECRET } from '../helpers/tokens.js'

const ISSUER = {
  issuer: 'https://sso.example.com/realms/app',
  jwks_uri: 'https://sso.example.com/realms/app/certs',
  audience: ['api'],
  roles_claim: 'realm_access.roles'
}

t.test('a YAML file configures what the environment would, structured values written natively', async (t) => {
  const file = tempFile(t, 'tokengate.yaml', stringify({
    NODE_ENV: 'test',
    FAIL_MODE: 'closed',
    PORT: 9000,
    METRICS_ON_MAIN_PORT: false,
    PUBLIC_PATHS: ['/health', '/docs'],
    JWT_ISSUERS: [ISSUER],
    ACCESS_RULES: [{ method: 'POST', path: '/payments', roles: 'customer', issuers: [ISSUER.issuer] }]
  }))
  const fromFile = loadConfig({ TOKENGATE_CONFIG: file })
  const fromEnv = loadConfig({
    NODE_ENV: 'test',
    FAIL_MODE: 'closed',
    PORT: '9000',
    METRICS_ON_MAIN_PORT: 'false',
    PUBLIC_PATHS: '/health,/docs',
    JWT_ISSUERS: JSON.stringify([ISSUER]),
    ACCESS_RULES: JSON.stringify([{ method: 'POST', path: '/payments', roles: 'customer', issuers: [ISSUER.issuer] }])
  })
  const { source: _a, ...file1 } = fromFile
  const { source: _b, ...env1 } = fromEnv
  t.same(JSON.parse(JSON.stringify(file1)), JSON.parse(JSON.stringify(env1)))
  t.match(fromFile, { failMode: 'closed', port: 9000, publicPaths: ['/health', '/docs'], accessRules: [{ methods: ['POST'], pathPrefix: '/payments', roles: ['customer'] }] })
})

t.test('a JSON file is read as JSON', async (t) => {
  const file = tempFile(t, 'tokengate.json', JSON.stringify({ JWT_SECRET: SECRET, FAIL_MODE: 'closed' }))
  t.equal(loadConfig({ TOKENGATE_CONFIG: file }).failMode, 'closed')
})

t.test('every variable set in the environment overrides the file', async (t) => {
  const file = tempFile(t, 'tokengate.yaml', stringify({ JWT_SECRET: SECRET, FAIL_MODE: 'closed', PORT: 9000 }))
  const config = loadConfig({ TOKENGATE_CONFIG: file, FAIL_MODE: 'open' })
  t.equal(config.failMode, 'open')
  t.equal(config.port, 9000)
  t.same(config.source.effective.FAIL_MODE, { value: 'open', from: 'environment' })
  t.same(config.source.effective.PORT, { value: '9000', from: 'file' })
})

t.test('unknown keys, wrong shapes and the values\' own rules: every problem named at once', async (t) => {
  const file = tempFile(t, 'tokengate.yaml', stringify({ JWT_SECRET: SECRET, FAILMODE: 'closed', LISTEN: 'x', PUBLIC_PATHS: { a: 1 }, PORT: 70000 }))
  const problems = configProblems({ TOKENGATE_CONFIG: file })
  t.match(problems, [
    /TOKENGATE_CONFIG: .*tokengate\.yaml: FAILMODE: unknown key; did you mean FAIL_MODE\?/,
    /TOKENGATE_CONFIG: .*: LISTEN: unknown key \(the keys are the variables of docs\/configuration\.md\)/,
    /TOKENGATE_CONFIG: .*: PUBLIC_PATHS: must be a string or a list/,
    /PORT: 70000 is out of range/
  ])
  t.equal(problems.length, 4)
  // A valid file whose value breaks its variable's rule is named as the environment's would be.
  const ranged = tempFile(t, 'ranged.yaml', stringify({ JWT_SECRET: SECRET, PORT: 70000, FAIL_MODE: 'shut' }))
  t.match(configProblems({ TOKENGATE_CONFIG: ranged }), [/PORT: 70000 is out of range/, /FAIL_MODE: "shut" is not accepted/])
})

t.test('a file that cannot be read or parsed names TOKENGATE_CONFIG', async (t) => {
  t.match(configProblems({ TOKENGATE_CONFIG: '/nonexistent/tokengate.yaml', JWT_SECRET: SECRET }), [/TOKENGATE_CONFIG: cannot read \/nonexistent\/tokengate\.yaml \(ENOENT\)/])
  const broken = tempFile(t, 'broken.yaml', 'FAIL_MODE: [closed\n')
  t.match(configProblems({ TOKENGATE_CONFIG: broken, JWT_SECRET: SECRET }), [/TOKENGATE_CONFIG: .*broken\.yaml does not parse/])
  const list = tempFile(t, 'list.yaml', '- FAIL_MODE\n')
  t.match(configProblems({ TOKENGATE_CONFIG: list, JWT_SECRET: SECRET }), [/must be a mapping of variables to values/])
})

t.test('ACCESS_RULES_FILE may be YAML; ACCESS_RULES and ACCESS_RULES_FILE together are refused', async (t) => {
  const yaml = tempFile(t, 'rules.yaml', stringify([{ path: '/admin', roles: ['admin'] }]))
  const json = tempFile(t, 'rules.json', JSON.stringify([{ path: '/admin', roles: ['admin'] }]))
  const expected = [{ methods: [], pathPrefix: '/admin', scopes: [], roles: ['admin'], issuers: [] }]
  t.same(loadConfig({ JWT_SECRET: SECRET, ACCESS_RULES_FILE: yaml }).accessRules, expected)
  t.same(loadConfig({ JWT_SECRET: SECRET, ACCESS_RULES_FILE: json }).accessRules, expected)
  t.same(loadConfig({ JWT_SECRET: SECRET, ACCESS_RULES: JSON.stringify([{ path: '/admin', roles: ['admin'] }]) }).accessRules, expected)
  t.match(configProblems({ JWT_SECRET: SECRET, ACCESS_RULES_FILE: yaml, ACCESS_RULES: '[]' }), [/ACCESS_RULES: set together with ACCESS_RULES_FILE/])
  const bad = tempFile(t, 'bad.yml', 'path: [\n')
  t.match(configProblems({ JWT_SECRET: SECRET, ACCESS_RULES_FILE: bad }), [/ACCESS_RULES_FILE: .*bad\.yml is not YAML/])
})

t.test('the effective configuration hides every secret: keys, passwords, URL credentials, client and transmitter secrets', async (t) => {
  const privateKey = '-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY-----'
  const file = tempFile(t, 'tokengate.yaml', stringify({
    JWT_SECRET: SECRET,
    JWT_PREVIOUS_SECRET: `${SECRET}-previous`,
    REDIS_URL: 'rediss://default:redis-pw-123@redis.internal:6380/0',
    REDIS_PASSWORD: 'redis-pw-456',
    ALERT_WEBHOOK_URL: 'https://hooks.example.com/services/T000/B000/XXXXSECRETXXXX?token=abc',
    INTROSPECTION_CLIENTS: ['resource-server:0123456789abcdef0123456789abcdef-secret']
  }))
  const effective = loadConfig({ TOKENGATE_CONFIG: file, NODE_ENV: 'test' }).source.effective
  const shown = JSON.stringify(effective)
  for (const secret of [SECRET, 'redis-pw-123', 'redis-pw-456', 'XXXXSECRETXXXX', 'token=abc', '0123456789abcdef0123456789abcdef-secret']) {
    t.notOk(shown.includes(secret), `${secret.slice(0, 12)}… is not shown`)
  }
  t.equal(effective.REDIS_URL?.value, `rediss://${REDACTED}@redis.internal:6380/0`)
  t.equal(effective.ALERT_WEBHOOK_URL?.value, `https://hooks.example.com/${REDACTED}`)
  t.equal(effective.INTROSPECTION_CLIENTS?.value, `resource-server:${REDACTED}`)
  t.equal(redactValue('JWT_PRIVATE_KEY', privateKey), REDACTED)
  const ssf = redactValue('SSF_TRANSMITTERS', JSON.stringify([{ issuer: 'https://ssf.example.com', delivery: { push: { authorization: 'Bearer push-secret' } }, auth: { client_credentials: { client_id: 'gw', client_secret: 'cc-secret' } }, poll: { bearer: 'poll-secret' } }]))
  for (const secret of ['push-secret', 'cc-secret', 'poll-secret']) t.notOk(ssf.includes(secret), `SSF ${secret} is not shown`)
  t.match(ssf, /"client_id":"gw"/)
  for (const { name, secret } of SETTINGS) if (secret) t.equal(redactValue(name, 'anything'), REDACTED, `${name} is redacted`)
})
