import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { freePort, startRedis, waitForPing, type RedisServer } from './redis.js'
import { waitFor } from './until.js'

const run = promisify(execFile)

function plainClient (port: number): Redis {
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 50, 500) })
  client.on('error', () => {})
  return client
}

export interface SentinelGroup {
  readonly name: string
  /** REDIS_SENTINELS and REDIS_SENTINEL_NAME for startGateway. */
  readonly env: Readonly<Record<string, string>>
  /** The Redis servers by port: the first primary and its replica. */
  readonly servers: ReadonlyMap<number, RedisServer>
  /** The primary's port as the sentinels see it now. */
  primaryPort: () => Promise<number>
  /** Kills the current primary (SIGKILL); returns its port. */
  killPrimary: () => Promise<number>
  /** Waits until every sentinel names a primary other than `oldPort`, and it acts as one; returns its port. */
  waitForFailover: (oldPort: number, ms?: number) => Promise<number>
  stop: () => Promise<void>
}

/**
 * One primary, one replica and three sentinels (quorum 2) on free loopback
 * ports, tuned to fail over in a few seconds: 400 ms until a primary is
 * "down", 2 s failover timeout.
 */
export async function startSentinelGroup (name = 'tokengate'): Promise<SentinelGroup> {
  // A returning replica syncs at once (diskless, no 5 s wait for more replicas).
  const sync = ['--repl-diskless-sync-delay', '0']
  const primary = await startRedis({ args: sync })
  const replica = await startRedis({ args: [...sync, '--replicaof', '127.0.0.1', String(primary.port)] })
  const servers = new Map([[primary.port, primary], [replica.port, replica]])
  await waitFor(async () => /master_link_status:up/.test(await replica.client.info('replication')), 'the replica to sync', 10_000, 50)

  const dir = mkdtempSync(join(tmpdir(), 'tokengate-sentinel-'))
  const children: ChildProcess[] = []
  const ports: number[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const conf = join(dir, `sentinel-${port}.conf`)
    writeFileSync(conf, [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'sentinel announce-ip 127.0.0.1',
      `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
      `sentinel down-after-milliseconds ${name} 400`,
      `sentinel failover-timeout ${name} 2000`,
      `sentinel parallel-syncs ${name} 1`, ''
    ].join('\n'))
    children.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }))
    ports.push(port)
  }
  await Promise.all(ports.map(async (port) => await waitForPing(port)))
  const sentinels = ports.map(plainClient)
  // A failover needs a quorum of sentinels that know each other and the replica.
  await waitFor(async () => {
    for (const sentinel of sentinels) {
      const peers = await sentinel.call('SENTINEL', 'SENTINELS', name) as unknown[]
      const replicas = await sentinel.call('SENTINEL', 'REPLICAS', name) as string[][]
      if (peers.length < 2 || replicas.length < 1 || !replicas[0].includes('slave')) return false
    }
    return true
  }, 'the sentinels to discover each other and the replica', 15_000, 50)

  const addressOf = async (sentinel: Redis): Promise<number> => {
    const [, port] = await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as [string, string]
    return Number(port)
  }
  return {
    name,
    env: { REDIS_SENTINELS: ports.map((port) => `127.0.0.1:${port}`).join(','), REDIS_SENTINEL_NAME: name },
    servers,
    primaryPort: async () => await addressOf(sentinels[0]),
    async killPrimary () {
      const port = await addressOf(sentinels[0])
      await servers.get(port)?.kill()
      return port
    },
    async waitForFailover (oldPort, ms = 20_000) {
      let next = oldPort
      await waitFor(async () => {
        const named = await Promise.all(sentinels.map(addressOf))
        next = named[0]
        if (named.some((port) => port === oldPort || port !== next)) return false
        return /role:master/.test(await servers.get(next)?.client.info('replication') ?? '')
      }, 'the sentinels to promote the replica', ms, 50)
      return next
    },
    async stop () {
      for (const sentinel of sentinels) sentinel.disconnect()
      await Promise.all(children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGKILL')
        await exited
      }))
      await Promise.all([...servers.values()].map(async (server) => await server.stop()))
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface ClusterGroup {
  /** REDIS_CLUSTER_NODES for startGateway. */
  readonly env: Readonly<Record<string, string>>
  readonly nodes: readonly RedisServer[]
  stop: () => Promise<void>
}

/** A Redis Cluster of `size` primaries without replicas, created with `redis-cli --cluster create`. */
export async function startCluster (size = 3): Promise<ClusterGroup> {
  const nodes = await Promise.all(Array.from({ length: size }, async () => await startRedis({
    args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']
  })))
  const stop = async (): Promise<void> => { await Promise.all(nodes.map(async (node) => await node.stop())) }
  try {
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'])
    await waitFor(async () => {
      for (const node of nodes) {
        const info = await node.client.cluster('INFO') as string
        if (!info.includes('cluster_state:ok')) return false
        // Every node must know every other one, or a client may be redirected to an unknown address.
        const known = (await node.client.cluster('NODES') as string).trim().split('\n').length
        if (known < size) return false
      }
      return true
    }, 'cluster_state:ok on every node', 15_000, 50)
  } catch (err) {
    await stop()
    throw err
  }
  return { env: { REDIS_CLUSTER_NODES: nodes.map((node) => `127.0.0.1:${node.port}`).join(',') }, nodes, stop }
}
