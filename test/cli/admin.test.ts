import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCli, runCommand, serveCli, type Run } from '../helpers/cli.js'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { freePort, startRedis } from '../helpers/redis.js'
import { SECRET, sign } from '../helpers/tokens.js'
import { untilValue } from '../helpers/until.js'
import { tempDir } from '../helpers/temp-dir.js'

// `tokengate admin` end to end: dist/main.js serve on a spawned Redis, as an operator runs it, and
// the admin commands in this process (runCommand, no spawn); the tests marked "the bin" run the
// built CLI as its own process, for what only a process shows: stdin, exit codes.
const redis = await startRedis()
t.teardown(async () => { await redis.stop() })
// Every test here shares one admin subject: more than the default 20 calls a minute.
const SERVE_ENV = { NODE_ENV: 'test', JWT_SECRET: SECRET, REDIS_URL: redis.url, LOG_LEVEL: 'info', RATE_LIMIT_ADMIN_PER_MIN: '1000' }
const gw = await serveCli(t, SERVE_ENV)
const adminToken = sign({ claims: { sub: 'oncall', roles: ['admin'] } })

const adminEnv = (env: Record<string, string>, url = gw.url): Record<string, string> => ({ TOKENGATE_URL: url, TOKENGATE_ADMIN_TOKEN: adminToken, ...env })

async function admin (args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  return await runCommand(['admin', ...args], adminEnv(env), input)
}

/** The same, through the built bin as its own process. */
async function adminBin (args: string[], env: Record<string, string> = {}, input?: string, url = gw.url): Promise<Run> {
  return await runCli(['admin', ...args], adminEnv(env, url), input)
}

const verify = async (token: string): Promise<number> => (await call(`${gw.url}/auth/verify`, { token })).status

t.test('status: health and revocation figures, as text and as --json', async (t) => {
  const text = await admin(['status'])
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, /^status: ok$/m)
  t.match(text.stdout, /^store: redis reachable \([\d.]+ ms\), FAIL_MODE=open$/m)
  t.match(text.stdout, /^revocation state: current \(\d+ ms old, at most 1000 ms\)$/m)
  t.notMatch(text.stdout, /pubsub/, 'no line for the removed pub/sub channel (it always read UNHEALTHY)')
  t.match(text.stdout, /^breaker: closed$/m)
  t.match(text.stdout, /^revocation marks: \d+$/m)
  const json = await admin(['status', '--json'])
  t.equal(json.code, 0)
  const parsed = JSON.parse(json.stdout)
  t.match(parsed, { health: { status: 'ok', store: { name: 'redis', reachable: true } }, revocation: { store: 'redis', breaker_state: 'closed' } })
})

t.test('revoke-user with a reason: every token of that user issued up to now is denied', async (t) => {
  const alice = sign({ claims: { sub: 'alice' } })
  const bob = sign({ claims: { sub: 'bob' } })
  t.equal(await verify(alice), 200)
  const run = await admin(['revoke-user', 'alice', '--reason', 'phone stolen (ticket 4711)'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /^revoked every token of user alice of every issuer issued up to \d+ \(\d{4}-/, 'no issuer configured (JWT_ISSUER unset): the mark covers every issuer')
  t.equal(await verify(alice), 401)
  t.equal(await verify(bob), 200, 'other users are untouched')
  const json = await admin(['revoke-user', 'u/with space', '--reason', 'test', '--json'])
  t.match(JSON.parse(json.stdout), { revoked: 'user', user_id: 'u/with space' }, 'the id is sent percent-encoded, whole')
})

t.test('revoke-token by --jti, and by value on stdin (never an argument, the bin reads its stdin); the jti is printed cut to 8 characters', async (t) => {
  const byJti = sign({ claims: { sub: 'carol', jti: 'jti-cli-0001-abcdef' } })
  const byJtiRun = await admin(['revoke-token', '--jti', 'jti-cli-0001-abcdef', '--exp', String(Math.floor(Date.now() / 1000) + 900), '--reason', 'leaked in a log'])
  t.equal(byJtiRun.code, 0, byJtiRun.stderr)
  t.equal(byJtiRun.stdout, 'revoked token jti jti-cli-… of every issuer\n')
  t.equal(await verify(byJti), 401)
  const byValue = sign({ claims: { sub: 'carol', jti: 'jti-cli-0002-abcdef' } })
  const run = await adminBin(['revoke-token', '--token-stdin', '--reason', 'leaked in a log', '--json'], {}, `${byValue}\n`)
  t.equal(run.code, 0, run.stderr)
  t.same(JSON.parse(run.stdout), { revoked: 'token', jti: 'jti-cli-', iss: '' }, 'a token without iss: its marks are those of no issuer')
  t.equal(await verify(byValue), 401)
  t.notMatch(run.stdout + run.stderr, byValue, 'the token is never echoed')
  t.notMatch(gw.output(), /jti-cli-0002/, 'nor is its full jti logged')
})

t.test('--iss names the issuer: alice of one issuer is revoked, alice of another is not', async (t) => {
  const [a, b] = ['https://a.example', 'https://b.example']
  const aliceOf = (iss: string): string => sign({ claims: { iss, sub: 'alice-iss', jti: `jti-${iss}` } })
  const run = await admin(['revoke-user', 'alice-iss', '--iss', a, '--reason', 'A account compromised'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /^revoked every token of user alice-iss of issuer https:\/\/a\.example issued up to/)
  t.equal(await verify(aliceOf(a)), 401)
  t.equal(await verify(aliceOf(b)), 200, 'the same sub of issuer B is another user')
  const jti = await admin(['revoke-token', '--jti', 'shared-jti', '--iss', b, '--reason', 'leaked', '--json'])
  t.match(JSON.parse(jti.stdout), { revoked: 'token', iss: b })
  t.equal(await verify(sign({ claims: { iss: b, jti: 'shared-jti' } })), 401)
  t.equal(await verify(sign({ claims: { iss: a, jti: 'shared-jti' } })), 200, 'the same jti of issuer A is another token')
  const both = await admin(['revoke-all', '--reason', 'x', '--yes', '--iss', a, '--all-issuers'])
  t.equal(both.code, 2)
  t.match(both.stderr, /--iss or --all-issuers, not both/)
  const stdinIss = await admin(['revoke-token', '--token-stdin', '--iss', a, '--reason', 'x'], {}, 'x')
  t.equal(stdinIss.code, 2)
  t.match(stdinIss.stderr, /the token names its own issuer/)
})

t.test('alerts: a revoked token used again is listed as a CRITICAL alert', async (t) => {
  const dave = sign({ claims: { sub: 'dave' } })
  t.equal((await admin(['revoke-user', 'dave', '--reason', 'offboarded'])).code, 0)
  t.equal(await verify(dave), 401)
  const listed = await untilValue(async () => JSON.parse((await admin(['alerts', '--severity', 'critical', '--json'])).stdout), (list) => list.count > 0, 6000, 100)
  t.ok(listed.alerts.some((a: any) => a.type === 'revoked_token_use' && a.user_id === 'dave'), 'revoked_token_use for dave')
  const text = await admin(['alerts', '--severity', 'CRITICAL', '--limit', '5'])
  t.equal(text.code, 0)
  t.match(text.stdout, /CRITICAL {2}revoked_token_use {2}user=dave/)
})

t.test('a non-2xx answer prints the OAuth error (RFC 6750 §3.1) and exits 1 (the bin); --json prints it as JSON', async (t) => {
  const user = sign({ claims: { sub: 'mallory' } })
  const refused = await adminBin(['revoke-user', 'alice', '--reason', 'x'], { TOKENGATE_ADMIN_TOKEN: user })
  t.equal(refused.code, 1)
  t.match(refused.stderr, /^tokengate admin: 403 insufficient_scope: /)
  const json = await admin(['status', '--json'], { TOKENGATE_ADMIN_TOKEN: 'not-a-jwt' })
  t.equal(json.code, 1)
  t.match(JSON.parse(json.stdout), { status: 401, error: 'invalid_token' })
  const bad = await admin(['alerts', '--severity', 'LOUD'])
  t.equal(bad.code, 1)
  t.match(bad.stderr, /400 invalid_request: "severity" must be one of CRITICAL, HIGH, MEDIUM, LOW/)
  t.notMatch(refused.stderr + json.stderr + json.stdout, /not-a-jwt|eyJ/, 'no token in the output')
})

t.test('the admin token comes from TOKENGATE_ADMIN_TOKEN or TOKENGATE_ADMIN_TOKEN_FILE, never from an argument', async (t) => {
  const none = await runCommand(['admin', 'status'], { TOKENGATE_URL: gw.url })
  t.equal(none.code, 2)
  t.match(none.stderr, /TOKENGATE_ADMIN_TOKEN: required/)
  const argument = await admin(['status', `--token=${adminToken}`])
  t.equal(argument.code, 2)
  t.match(argument.stderr, /never taken from the command line \(ps shows it/)
  t.notMatch(argument.stderr, adminToken)
  const file = join(tempDir(t, 'tg-admin-token-'), 'token')
  writeFileSync(file, `${adminToken}\n`, { mode: 0o600 })
  const fromFile = await runCommand(['admin', 'status'], { TOKENGATE_URL: gw.url, TOKENGATE_ADMIN_TOKEN_FILE: file })
  t.equal(fromFile.code, 0, fromFile.stderr)
  const both = await admin(['status'], { TOKENGATE_ADMIN_TOKEN_FILE: file })
  t.equal(both.code, 2)
  t.match(both.stderr, /TOKENGATE_ADMIN_TOKEN_FILE: set either/)
  const missing = await runCommand(['admin', 'status'], { TOKENGATE_URL: gw.url, TOKENGATE_ADMIN_TOKEN_FILE: `${file}.missing` })
  t.match(missing.stderr, /TOKENGATE_ADMIN_TOKEN_FILE: cannot read .*: ENOENT/)
})

t.test('usage errors exit 2 before any request: no reason, no --yes, unknown command, bad URL', async (t) => {
  const noReason = await admin(['revoke-user', 'alice'])
  t.equal(noReason.code, 2)
  t.match(noReason.stderr, /--reason is required/)
  const noYes = await admin(['revoke-all', '--reason', 'breach'])
  t.equal(noYes.code, 2)
  t.match(noYes.stderr, /pass --yes to confirm; there is no terminal to ask on/)
  t.equal(await verify(sign()), 200, 'nothing was revoked')
  const unknown = await admin(['frobnicate'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown admin command "frobnicate"/)
  const url = await admin(['status'], { TOKENGATE_URL: 'ftp://gw' })
  t.equal(url.code, 2)
  t.match(url.stderr, /TOKENGATE_URL: "ftp:\/\/gw" is not accepted/)
  const noJti = await admin(['revoke-token', '--reason', 'x'])
  t.match(noJti.stderr, /name the token: --jti JTI/)
})

t.test('a gateway that cannot be reached: exit 1, saying where it tried', async (t) => {
  const port = await freePort()
  const run = await admin(['status', '--url', `http://127.0.0.1:${port}`])
  t.equal(run.code, 1)
  t.match(run.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`))
})

t.test('status exits 3 (the bin) when the gateway is degraded (its Redis is down)', async (t) => {
  const own = await startRedis()
  const degraded = await startGateway(t, { ...SERVE_ENV, REDIS_URL: own.url })
  await own.stop()
  const run = await adminBin(['status'], {}, undefined, degraded.url)
  t.equal(run.code, 3, run.stderr)
  t.match(run.stdout, /^status: degraded$/m)
  t.match(run.stdout, /^store: redis UNREACHABLE/m)
})

t.test('revoke-all --yes with a reason: every token issued up to now is denied, the admin token too', async (t) => {
  const token = sign({ claims: { sub: 'erin' } })
  const run = await admin(['revoke-all', '--reason', 'signing key leaked', '--yes'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /^revoked every token of every issuer issued up to \d+/)
  t.equal(await verify(token), 401)
  const after = await admin(['status'])
  t.equal(after.code, 1)
  t.match(after.stderr, /401 invalid_token/)
})
