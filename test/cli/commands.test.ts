import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/load.js'
import { Failures } from '../../src/errors.js'
import { runTokengate } from '../../src/cli/run.js'
import { runCli, runCommand } from '../helpers/cli.js'
import { BASE_ENV, startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { tempDir } from '../helpers/temp-dir.js'
import { SECRET, sign } from '../helpers/tokens.js'

// Every command answers --help and --version, and exits the same way: 0 done, 1 failed (a refusal,
// bad configuration, a broken chain), 2 a command line that cannot run as written.

const VERSION = `tokengate ${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version}\n`

const gw = await startGateway(t, { JWT_SECRET: SECRET, RATE_LIMIT_ADMIN_PER_MIN: '1000' })
// A valid token without the admin role: every admin route refuses it (403).
const notAdmin = { TOKENGATE_URL: gw.url, TOKENGATE_ADMIN_TOKEN: sign({ claims: { sub: 'intern' } }) }
const brokenLog = join(tempDir(t, 'tg-commands-'), 'audit.log')
writeFileSync(brokenLog, '{"not":"a record"}\n')

/** Each command: its words, and a run of it that the gateway (or its configuration, or its input) refuses. */
const COMMANDS: Array<{ words: string[], failing: { args: string[], env: Record<string, string> } }> = [
  { words: ['serve'], failing: { args: [], env: { JWT_SECRET: SECRET, FAIL_MODE: 'maybe' } } },
  { words: ['token'], failing: { args: ['--sub', 'a'], env: { NODE_ENV: 'production', JWT_PUBLIC_KEYS: 'not-a-key' } } },
  { words: ['audit', 'verify'], failing: { args: [brokenLog], env: {} } },
  { words: ['admin', 'status'], failing: { args: [], env: notAdmin } },
  { words: ['admin', 'alerts'], failing: { args: [], env: notAdmin } },
  { words: ['admin', 'revoke-user'], failing: { args: ['u1', '--reason', 'r'], env: notAdmin } },
  { words: ['admin', 'revoke-all'], failing: { args: ['--reason', 'r', '--yes'], env: notAdmin } },
  { words: ['admin', 'revoke-token'], failing: { args: ['--jti', 'j1', '--reason', 'r'], env: notAdmin } }
]

for (const { words, failing } of COMMANDS) {
  const name = `tokengate ${words.join(' ')}`
  t.test(`${name}: --help, --version, a bad option, a refusal`, async (t) => {
    const help = await runCommand([...words, '--help'])
    t.equal(help.code, 0, `${name} --help`)
    t.match(help.stdout, new RegExp(`^usage: tokengate (\\[)?${words[0]}`), 'its own usage, on stdout')
    t.equal(help.stderr, '')
    t.equal((await runCommand([...words, '-h'])).code, 0, '-h too')
    const version = await runCommand([...words, '--version'])
    t.equal(version.code, 0, `${name} --version`)
    t.equal(version.stdout, VERSION)
    const bad = await runCommand([...words, '--no-such-option'])
    t.equal(bad.code, 2, `${name} --no-such-option: a usage error`)
    t.match(bad.stderr, /usage: /, 'with the usage')
    t.equal(bad.stdout, '')
    const refused = await runCommand([...words, ...failing.args], failing.env)
    t.equal(refused.code, 1, `${name} refused: ${refused.stderr}`)
  })
}

t.test('the top level: --help, --version, -V, an unknown command', async (t) => {
  t.equal((await runCommand(['--help'])).code, 0)
  t.match((await runCommand(['--help'])).stdout, /Every command takes --help and --version/)
  t.equal((await runCommand(['--version'])).stdout, VERSION)
  t.equal((await runCommand(['-V'])).stdout, VERSION)
  const unknown = await runCommand(['frobnicate'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown command "frobnicate"/)
})

t.test('--version never runs the command: revoke-all --yes --version revokes nothing', async (t) => {
  const token = sign({ claims: { sub: 'bystander' } })
  const admin = { TOKENGATE_URL: gw.url, TOKENGATE_ADMIN_TOKEN: sign({ claims: { sub: 'oncall', roles: ['admin'] } }) }
  const run = await runCommand(['admin', 'revoke-all', '--reason', 'r', '--yes', '--version'], admin)
  t.equal(run.code, 0)
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 200)
})

t.test('token usage errors exit 2, a missing key 1', async (t) => {
  t.equal((await runCommand(['token'], { JWT_SECRET: SECRET })).code, 2, 'no --sub')
  t.equal((await runCommand(['token', '--sub', 'a', '--ttl', 'soon'], { JWT_SECRET: SECRET })).code, 2)
  t.equal((await runCommand(['token', '--sub', 'a', 'extra'], { JWT_SECRET: SECRET })).code, 2, 'a stray argument')
  t.equal((await runCommand(['serve', 'extra'], { JWT_SECRET: SECRET })).code, 2, 'serve takes no arguments')
})

/** revoke-all through the command function with a terminal that answers `answer`. */
async function revokeAllAsked (answer: boolean, env: Record<string, string>): Promise<{ code: number, out: string, err: string, asked: string }> {
  let out = ''
  let err = ''
  let asked = ''
  const code = await runTokengate(['admin', 'revoke-all', '--reason', 'drill'], {
    env,
    out: (line) => { out += line + '\n' },
    err: (line) => { err += line + '\n' },
    stdin: async () => '',
    confirm: async (question) => { asked = question; return answer }
  })
  return { code, out, err, asked }
}

t.test('revoke-all asks on a terminal, says it ends the caller\'s own session, and revokes nothing when declined', async (t) => {
  const own = await startGateway(t, { JWT_SECRET: SECRET })
  const adminToken = sign({ claims: { sub: 'oncall', roles: ['admin'] } })
  const env = { TOKENGATE_URL: own.url, TOKENGATE_ADMIN_TOKEN: adminToken }
  const bystander = sign({ claims: { sub: 'bystander' } })
  const declined = await revokeAllAsked(false, env)
  t.equal(declined.code, 1, 'declined: not done')
  t.match(declined.asked, /the admin token this command uses included/, 'the question says the caller is logged out too')
  t.match(declined.err, /declined: nothing was revoked/)
  t.equal((await call(`${own.url}/auth/verify`, { token: bystander })).status, 200, 'nothing was revoked')
  const accepted = await revokeAllAsked(true, env)
  t.equal(accepted.code, 0, accepted.err)
  t.match(accepted.out, /revoked every token/)
  t.match(accepted.err, /the admin token this command used is revoked too/)
  t.equal((await call(`${own.url}/auth/verify`, { token: bystander })).status, 401)
})

t.test('the bin: revoke-all without --yes and without a terminal refuses, exit 2, saying to pass --yes', async (t) => {
  const bystander = sign({ claims: { sub: 'bystander-2' } })
  const run = await runCli(['admin', 'revoke-all', '--reason', 'drill'], { TOKENGATE_URL: gw.url, TOKENGATE_ADMIN_TOKEN: sign({ claims: { sub: 'oncall', roles: ['admin'] } }) }, '')
  t.equal(run.code, 2)
  t.match(run.stderr, /you included .*pass --yes to confirm; there is no terminal to ask on/)
  t.equal((await call(`${gw.url}/auth/verify`, { token: bystander })).status, 200)
})

t.test('revoke-all with several issuers and no --iss: the gateway refuses, exit 1, naming the issuer as required', async (t) => {
  const A = 'https://a.example'
  const B = 'https://b.example'
  // As test/routes/issuer-revocation.test.ts: one key, two issuers the admin routes know of.
  const config = loadConfig({ ...BASE_ENV, JWT_ISSUER: A })
  const issuers = [config.jwt.issuers[0], { ...config.jwt.issuers[0], issuer: B }]
  const app = await buildApp({ ...config, jwt: { ...config.jwt, issuers } }, { logger: { level: 'warn', stream: new Writable({ write: (_c, _e, done) => done() }) } })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const adminToken = sign({ claims: { sub: 'oncall', roles: ['admin'], iss: A } })
  const env = { TOKENGATE_URL: url, TOKENGATE_ADMIN_TOKEN: adminToken }
  const run = await runCommand(['admin', 'revoke-all', '--reason', 'r', '--yes'], env)
  t.equal(run.code, 1, run.stderr)
  t.match(run.stderr, `400 invalid_request: ${Failures.ISSUER_REQUIRED.description}`)
  const one = await runCommand(['admin', 'revoke-all', '--reason', 'r', '--yes', '--iss', B], env)
  t.equal(one.code, 0, one.stderr)
  t.match(one.stdout, /of issuer https:\/\/b\.example/)
  t.notMatch(one.stderr, /revoked too/, 'the admin token of issuer A is not revoked, and the command does not say it is')
  t.equal((await call(`${url}/admin/health`, { token: adminToken })).status, 200)
})
