import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { waitFor } from './until.js'

/** A free loopback port, chosen by the kernel. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** A plain client for assertions; closed by stop(). */
  readonly client: Redis
  /** Kills the server (SIGKILL: an outage, not a shutdown). */
  kill: () => Promise<void>
  /** Starts it again on the same port (empty: nothing is persisted), with extra arguments if given. */
  restart: (extraArgs?: readonly string[]) => Promise<void>
  stop: () => Promise<void>
}

export interface RedisServerOptions {
  readonly args?: readonly string[]
}

/** Resolves once a Redis (or Sentinel) on the port answers PING. */
export async function waitForPing (port: number): Promise<void> {
  await waitFor(async () => {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    try {
      await probe.connect()
      return await probe.ping() === 'PONG'
    } finally {
      probe.disconnect()
    }
  }, `redis-server on port ${port} to answer PING`, 10_000)
}

/** Spawns a private redis-server on a free loopback port: never the shared one on 6379. */
export async function startRedis (options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-redis-'))
  let child: ChildProcess | null = null
  const launch = async (extraArgs: readonly string[] = []): Promise<void> => {
    child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--maxmemory-policy', 'noeviction', ...(options.args ?? []), ...extraArgs
    ], { stdio: 'ignore' })
    await waitForPing(port)
  }
  await launch()
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 50, 500) })
  client.on('error', () => {})
  const kill = async (): Promise<void> => {
    const running = child
    if (running === null || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client,
    kill,
    restart: async (extraArgs) => { await launch(extraArgs) },
    async stop () {
      client.disconnect()
      await kill()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface SharedRedis {
  readonly port: number
  readonly url: string
  /** A plain client for assertions; give it the keys under the test's prefix. */
  readonly client: Redis
  /** A key prefix no other test of the file has had: one test's marks, rate limits and monitor state are its own. */
  prefix: () => string
  /** REDIS_URL and a fresh REDIS_KEY_PREFIX, to spread into a gateway's environment. */
  env: () => { REDIS_URL: string, REDIS_KEY_PREFIX: string }
}

/**
 * One redis-server for a whole test file, stopped when the file ends (pass the
 * file's root `t`): starting one per subtest cost a spawn each. A test that
 * kills or restarts Redis still starts its own with startRedis().
 */
export async function sharedRedis (t: { teardown: (fn: () => unknown) => void }): Promise<SharedRedis> {
  const server = await startRedis()
  t.teardown(() => server.stop())
  let tests = 0
  const prefix = (): string => `t${++tests}:`
  return {
    port: server.port,
    url: server.url,
    client: server.client,
    prefix,
    env: () => ({ REDIS_URL: server.url, REDIS_KEY_PREFIX: prefix() })
  }
}
