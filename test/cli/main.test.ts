import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { createVerifier } from 'fast-jwt'
import { startGateway } from '../helpers/gateway.js'
import { SECRET } from '../helpers/tokens.js'
import { MAIN, runCli, runCommand } from '../helpers/cli.js'
import { until } from '../helpers/until.js'

// The commands run in this process (runCommand); the tests marked "the bin" spawn dist/main.js
// for what only a process shows: the banner of `npm start`, signals, exit codes.
const run = runCommand

t.test('npm start with no configuration: a development instance that prints a working token', async (t) => {
  // Only PATH and PORT=0: no key, no Redis, whatever port is free.
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', PORT: '0' } })
  t.teardown(() => { child.kill('SIGTERM') })
  let stdout = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  await until(() => /export TOKEN=\S+/.test(stdout), 15_000, 50)
  const token = /export TOKEN=(\S+)/.exec(stdout)?.[1]
  t.ok(token, 'the banner holds a token')
  const base = /curl -i (http:\/\/127\.0\.0\.1:\d+)\/auth\/verify/.exec(stdout)?.[1] ?? ''
  t.notMatch(base, /:0$/, 'the curl lines name the port actually bound')
  t.match(stdout, /curl -i -X POST http:\/\/127\.0\.0\.1:\d+\/auth\/logout/)
  const verify = async (): Promise<number> => (await fetch(`${base}/auth/verify`, { headers: { authorization: `Bearer ${token ?? ''}` } })).status
  t.equal(await verify(), 200)
  t.equal((await fetch(`${base}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token ?? ''}` } })).status, 200)
  t.equal(await verify(), 401, 'the curl lines tell the truth: after logout the token is dead')
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0, 'SIGTERM drains and exits cleanly')
})

t.test('the bin: a bad variable stops start-up with one line naming it, exit code 1', async (t) => {
  const result = await runCli([], { JWT_SECRET: SECRET, FAIL_MODE: 'maybe' })
  t.equal(result.code, 1)
  t.match(result.stderr, /FAIL_MODE: "maybe" is not accepted; expected one of open, closed/)
})

t.test('several bad variables are reported together, none of their secrets echoed', async (t) => {
  const result = await run([], { JWT_SECRET: 'short-secret', REDIS_URL: 'redis//:pw-4711@cache', UPSTREAM_TIMEOUT_MS: '-1' })
  t.not(result.code, 0)
  t.match(result.stderr, /JWT_SECRET: must be at least 32 bytes/)
  t.match(result.stderr, /REDIS_URL: not a URL; expected redis: or rediss:/)
  t.match(result.stderr, /UPSTREAM_TIMEOUT_MS: -1 is out of range/)
  t.notMatch(result.stderr, /short-secret|pw-4711/)
})

t.test('production without key material refuses to start', async (t) => {
  const result = await run([], { NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1' })
  t.not(result.code, 0)
  t.match(result.stderr, /JWT_SECRET/)
})

t.test('tokengate token mints tokens with the configured key', async (t) => {
  const verify = createVerifier({ key: SECRET })
  const access = await run(['token', '--sub', 'alice', '--ttl', '1h', '--claims', '{"scope":"read"}'], { JWT_SECRET: SECRET })
  t.equal(access.code, 0)
  const claims = verify(access.stdout.trim())
  t.match(claims, { sub: 'alice', scope: 'read' })
  t.equal(claims.exp - claims.iat, 3600)
  const refresh = await run(['token', '--sub', 'alice', '--refresh', '--sid', 's1'], { JWT_SECRET: SECRET })
  t.match(verify(refresh.stdout.trim()), { token_type: 'refresh', sid: 's1' })
  const missing = await run(['token'], { JWT_SECRET: SECRET })
  t.not(missing.code, 0)
  t.match(missing.stderr, /--sub is required/)
})

t.test('tokengate token needs no Redis, in production too (it never opens a store)', async (t) => {
  const minted = await run(['token', '--sub', 'alice'], { JWT_SECRET: SECRET, NODE_ENV: 'production', WORKERS: '4' })
  t.equal(minted.code, 0, minted.stderr)
  t.match(minted.stdout, /^ey[\w-]+\.[\w-]+\.[\w-]+\n$/)
  const served = await run(['serve'], { JWT_SECRET: SECRET, NODE_ENV: 'production', PORT: '0' })
  t.equal(served.code, 1, 'serving still refuses production without Redis')
  t.match(served.stderr, /REDIS_URL: NODE_ENV=production needs shared revocation state/)
})

t.test('tokengate token refuses a bad --ttl or --claims', async (t) => {
  const ttl = await run(['token', '--sub', 'alice', '--ttl', '0'], { JWT_SECRET: SECRET })
  t.not(ttl.code, 0)
  t.match(ttl.stderr, /--ttl "0" is not a duration/)
  const claims = await run(['token', '--sub', 'alice', '--claims', '[1]'], { JWT_SECRET: SECRET })
  t.not(claims.code, 0)
  t.match(claims.stderr, /--claims must be a JSON object/)
  t.equal(claims.stdout, '', 'no token printed')
})

t.test('issue 16: tokengate token refuses a --ttl the gateway would refuse (JWT_MAX_TOKEN_LIFETIME)', async (t) => {
  const long = await run(['token', '--sub', 'svc', '--ttl', '90d'], { JWT_SECRET: SECRET })
  t.not(long.code, 0)
  t.match(long.stderr, /--ttl is longer than JWT_MAX_TOKEN_LIFETIME \(604800s\)/)
  t.equal(long.stdout, '', 'no token printed')
  const raised = await run(['token', '--sub', 'svc', '--ttl', '90d'], { JWT_SECRET: SECRET, JWT_MAX_TOKEN_LIFETIME: '90d' })
  t.equal(raised.code, 0, raised.stderr)
})

t.test('a minted token is accepted by a gateway with the same secret', async (t) => {
  const minted = await run(['token', '--sub', 'alice'], { JWT_SECRET: SECRET })
  const gw = await startGateway(t)
  const res = await fetch(`${gw.url}/auth/verify`, { headers: { authorization: `Bearer ${minted.stdout.trim()}` } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-user-id'), 'alice')
})

t.test('the bin: an unknown command prints the usage, exit code 2', async (t) => {
  const result = await runCli(['frobnicate'], {})
  t.equal(result.code, 2)
  t.match(result.stderr, /usage:/)
})
