import fc from 'fast-check'
import t from 'tap'
import { foreign, probablyMeant, unknownVariables } from '../../src/config/near-miss.js'
import { KNOWN_VARIABLES, SETTINGS } from '../../src/config/settings.js'
import { configProblems } from '../helpers/config.js'
import { SECRET } from '../helpers/tokens.js'

const BASE = { JWT_SECRET: SECRET }

// What a pod of a Deployment sees (service links of three Services, one of them tokengate's own),
// a Docker image's and a CI runner's environment: none of it is tokengate's.
const REALISTIC: Record<string, string> = {
  PATH: '/usr/local/bin:/usr/bin',
  HOME: '/home/node',
  HOSTNAME: 'tokengate-7d9c-xk2p',
  TERM: 'xterm',
  LANG: 'C.UTF-8',
  USER: 'node',
  SHELL: '/bin/sh',
  PWD: '/app',
  SHLVL: '1',
  TZ: 'UTC',
  _: '/usr/local/bin/node',
  NODE_VERSION: '24.11.0',
  NODE_OPTIONS: '--enable-source-maps',
  NODE_EXTRA_CA_CERTS: '/etc/ssl/ca.pem',
  YARN_VERSION: '1.22.22',
  npm_config_cache: '/tmp/.npm',
  npm_lifecycle_event: 'start',
  npm_package_version: '1.0.0',
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  KUBERNETES_SERVICE_PORT_HTTPS: '443',
  KUBERNETES_PORT: 'tcp://10.96.0.1:443',
  KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
  KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
  KUBERNETES_PORT_443_TCP_PORT: '443',
  KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
  TOKENGATE_PORT: 'tcp://10.96.12.7:8080',
  TOKENGATE_SERVICE_HOST: '10.96.12.7',
  TOKENGATE_SERVICE_PORT: '8080',
  TOKENGATE_SERVICE_PORT_HTTP: '8080',
  TOKENGATE_PORT_8080_TCP: 'tcp://10.96.12.7:8080',
  TOKENGATE_PORT_8080_TCP_PROTO: 'tcp',
  TOKENGATE_PORT_8080_TCP_PORT: '8080',
  TOKENGATE_PORT_8080_TCP_ADDR: '10.96.12.7',
  TOKENGATE_METRICS_PORT: 'tcp://10.96.12.8:9090',
  TOKENGATE_METRICS_SERVICE_HOST: '10.96.12.8',
  TOKENGATE_METRICS_PORT_9090_TCP_ADDR: '10.96.12.8',
  REDIS_PORT: 'tcp://10.96.3.4:6379',
  REDIS_SERVICE_HOST: '10.96.3.4',
  REDIS_SERVICE_PORT: '6379',
  REDIS_PORT_6379_TCP_ADDR: '10.96.3.4',
  API_PORT: 'tcp://10.96.5.5:80',
  API_SERVICE_HOST: '10.96.5.5',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
  OTEL_SERVICE_NAME: 'tokengate',
  OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
  HTTP_PROXY: 'http://proxy:3128',
  NO_PROXY: 'localhost',
  SSL_CERT_FILE: '/etc/ssl/cert.pem',
  DEBUG: '',
  CI: 'true',
  GITHUB_ACTIONS: 'true',
  RUNNER_OS: 'Linux',
  JAVA_HOME: '/usr/lib/jvm',
  GOPATH: '/go',
  PYTHONUNBUFFERED: '1',
  POD_NAME: 'tokengate-7d9c-xk2p',
  POD_NAMESPACE: 'edge',
  POD_IP: '10.1.2.3',
  NODE_NAME: 'worker-3',
  APP_VERSION: '2.1.0',
  REDIS_HOST: 'redis',
  DATABASE_URL: 'postgres://db/app',
  SENTRY_DSN: 'https://x@sentry.io/1',
  LOG_FORMAT: 'json'
}

t.test('a Kubernetes, Docker and CI environment (service links, OTEL_*, NODE_*, npm_*) starts: nothing is a near miss', async (t) => {
  t.same(unknownVariables(REALISTIC), [])
  t.same(configProblems({ ...REALISTIC, ...BASE }), [])
})

t.test('FAILMODE=closed stops start-up naming FAIL_MODE, with every other problem', async (t) => {
  const problems = configProblems({ ...BASE, FAILMODE: 'closed', PORT: 'x' })
  t.match(problems.join('\n'), /FAILMODE: not a tokengate variable; did you mean FAIL_MODE\?/)
  t.match(problems.join('\n'), /PORT: "x" is not an integer/)
})

t.test('an unknown TOKENGATE_ variable stops start-up, with what it probably meant', async (t) => {
  t.same(unknownVariables({ TOKENGATE_LOG_LEVEL: 'debug', TOKENGATE_ADMIN_TOKN: 'x', TOKENGATE_URL: 'http://x' }), [
    'TOKENGATE_LOG_LEVEL: not a tokengate variable (see docs/configuration.md)',
    'TOKENGATE_ADMIN_TOKN: not a tokengate variable; did you mean TOKENGATE_ADMIN_TOKEN?'
  ])
})

t.test('lower case and missing underscores name the variable meant', async (t) => {
  t.equal(probablyMeant('fail_mode'), 'FAIL_MODE')
  t.equal(probablyMeant('JWTSECRET'), 'JWT_SECRET')
  t.equal(probablyMeant('ACCESSRULESFILE'), 'ACCESS_RULES_FILE')
})

t.test('short names tolerate no typo: HOST is not HOME, PORT not PWD', async (t) => {
  for (const name of ['HOME', 'PWD', 'HOSTS', 'USER', 'PATH', 'TERM']) t.equal(probablyMeant(name), null, name)
})

// One typo: a letter dropped, doubled, replaced or swapped with its neighbour, or an underscore dropped.
const typo = (name: string): fc.Arbitrary<string> => fc.tuple(fc.nat(name.length - 1), fc.constantFrom('drop', 'double', 'replace', 'swap', 'underscore'), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'))
  .map(([at, kind, letter]) => {
    if (kind === 'drop') return name.slice(0, at) + name.slice(at + 1)
    if (kind === 'double') return name.slice(0, at) + name[at] + name.slice(at)
    if (kind === 'replace') return name.slice(0, at) + letter + name.slice(at + 1)
    if (kind === 'swap') return at + 1 < name.length ? name.slice(0, at) + name[at + 1] + name[at] + name.slice(at + 2) : name
    return name.replace('_', '')
  })

t.test('property: every known name of 6 letters or more, with one typo, is reported with a suggestion', async (t) => {
  const names = SETTINGS.map(({ name }) => name).filter((name) => name.replaceAll('_', '').length >= 6)
  fc.assert(fc.property(fc.constantFrom(...names).chain((name) => typo(name)), (misspelt) => {
    // A typo that lands in another program's namespace (SSF_ -> SSH_) is that program's.
    fc.pre(!KNOWN_VARIABLES.has(misspelt) && !foreign(misspelt, 'x'))
    const problems = unknownVariables({ [misspelt]: 'x' })
    return problems.length === 1 && problems[0].startsWith(`${misspelt}: not a tokengate variable; did you mean `) && probablyMeant(misspelt) !== null
  }), { numRuns: 2000 })
  t.pass('2000 typos reported')
})
