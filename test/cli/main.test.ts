import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createVerifier } from 'fast-jwt'
import { freePort } from '../helpers/redis.js'
import { SECRET } from '../helpers/tokens.js'

// The built CLI (npm test builds it first: see "pretest").
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

interface Run { code: number | null, stdout: string, stderr: string }

async function run (args: string[], env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, stdout, stderr }
}

t.test('npm start with no configuration: a development instance that prints a working token', async (t) => {
  const port = await freePort()
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1' } })
  t.teardown(() => { child.kill('SIGTERM') })
  let stdout = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  const deadline = Date.now() + 15_000
  while (!/export TOKEN=\S+/.test(stdout) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  const token = /export TOKEN=(\S+)/.exec(stdout)?.[1]
  t.ok(token, 'the banner holds a token')
  t.match(stdout, /curl -i http:\/\/127\.0\.0\.1:\d+\/auth\/verify/)
  t.match(stdout, /curl -i -X POST http:\/\/127\.0\.0\.1:\d+\/auth\/logout/)
  const verify = async (): Promise<number> => (await fetch(`http://127.0.0.1:${port}/auth/verify`, { headers: { authorization: `Bearer ${token ?? ''}` } })).status
  t.equal(await verify(), 200)
  t.equal((await fetch(`http://127.0.0.1:${port}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token ?? ''}` } })).status, 200)
  t.equal(await verify(), 401, 'the curl lines tell the truth: after logout the token is dead')
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0, 'SIGTERM drains and exits cleanly')
})

t.test('a bad variable stops start-up with one line naming it', async (t) => {
  const result = await run([], { JWT_SECRET: SECRET, FAIL_MODE: 'maybe' })
  t.not(result.code, 0)
  t.match(result.stderr, /FAIL_MODE: "maybe" is not accepted; expected one of open, closed/)
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

t.test('an unknown command prints the usage', async (t) => {
  const result = await run(['frobnicate'], {})
  t.equal(result.code, 2)
  t.match(result.stderr, /usage:/)
})
