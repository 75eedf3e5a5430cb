import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { request as httpRequest } from 'node:http'
import t from 'tap'
import { MAIN } from '../helpers/cli.js'
import { freePort, startRedis } from '../helpers/redis.js'
import { SECRET, sign } from '../helpers/tokens.js'
import { waitFor } from '../helpers/until.js'
import { startUpstream } from '../helpers/upstream.js'

const CHUNKS = 10
const CHUNK = Buffer.alloc(16_384, 120)

/** A request on a fresh connection (never a pooled one): refused, 503, or answered. */
async function freshRequest (url: string, token: string): Promise<number | 'refused'> {
  return await new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', () => resolve('refused'))
    req.end()
  })
}

t.test('SIGTERM: in-flight streamed responses finish whole, new requests are refused, Redis is closed, exit 0', async (t) => {
  const redis = await startRedis()
  const monitor = await redis.client.monitor()
  t.teardown(async () => {
    monitor.disconnect()
    await redis.stop()
  })
  const commands: string[] = []
  monitor.on('monitor', (_time: string, args: string[]) => { commands.push(String(args[0]).toUpperCase()) })

  const upstream = await startUpstream(t)
  let started = 0
  upstream.handle((req, res) => {
    if (req.url !== '/slow') { res.end('{}'); return }
    started++
    res.setHeader('content-length', String(CHUNKS * CHUNK.length))
    let sent = 0
    const timer = setInterval(() => {
      res.write(CHUNK)
      if (++sent === CHUNKS) { clearInterval(timer); res.end() }
    }, 80)
  })

  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', JWT_SECRET: SECRET, HOST: '127.0.0.1', PORT: String(port), UPSTREAM_URL: upstream.url, REDIS_URL: redis.url, LOG_LEVEL: 'info' }
  })
  let logs = ''
  child.stdout.on('data', (d: Buffer) => { logs += d.toString() })
  child.stderr.on('data', (d: Buffer) => { logs += d.toString() })
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 'the gateway to be ready')

  // Several slow streams in flight when the signal arrives.
  const token = sign()
  const inFlight = Array.from({ length: 4 }, async () => {
    const res = await fetch(`${base}/slow`, { headers: { authorization: `Bearer ${token}` } })
    return { status: res.status, bytes: (await res.arrayBuffer()).byteLength }
  })
  await waitFor(async () => started === 4, 'the upstream to be streaming')
  child.kill('SIGTERM')

  await waitFor(async () => (await freshRequest(`${base}/slow`, token)) !== 200, 'new requests to be refused', 3000)
  t.pass('a new connection is refused (or answered 503) while the streams drain')
  // A probe sent before the signal was handled may still have been accepted; none after.
  const startedWhenRefused = started
  const results = await Promise.all(inFlight)
  for (const result of results) t.same(result, { status: 200, bytes: CHUNKS * CHUNK.length }, 'the in-flight response arrived whole')

  const [code, signal] = await exited
  t.equal(code, 0, `exit code 0 (signal ${String(signal)})`)
  if (code !== 0) t.comment(logs)
  t.equal(started, startedWhenRefused, 'the refused request never reached the upstream')
  t.match(logs, /draining and shutting down/)
  await waitFor(async () => commands.includes('QUIT'), 'the gateway to QUIT its Redis connections', 3000)
  t.ok(commands.includes('QUIT'), 'Redis connections closed with QUIT, not dropped')
})

t.test('SIGTERM: a request still running after SHUTDOWN_GRACE_MS is cut and the exit code says so', async (t) => {
  const upstream = await startUpstream(t)
  let reached = false
  upstream.handle(() => { reached = true /* never answers */ })
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', JWT_SECRET: SECRET, HOST: '127.0.0.1', PORT: String(port), UPSTREAM_URL: upstream.url, SHUTDOWN_GRACE_MS: '300', LOG_LEVEL: 'warn' }
  })
  child.stderr.resume()
  child.stdout.resume()
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, 'the gateway to be ready')
  const stuck = fetch(`${base}/stuck`, { headers: { authorization: `Bearer ${sign()}` } }).then((r) => r.status, () => 'cut')
  await waitFor(async () => reached, 'the request to reach the upstream')
  const signalled = Date.now()
  child.kill('SIGTERM')
  const [code] = await exited
  t.equal(code, 1)
  t.ok(Date.now() - signalled < 3000, `exited ${Date.now() - signalled} ms after the signal`)
  t.equal(await stuck, 'cut')
})
