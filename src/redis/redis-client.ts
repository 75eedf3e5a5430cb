import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'

export type RedisTopology =
  | { readonly mode: 'standalone', readonly url: string }
  | { readonly mode: 'cluster', readonly nodes: readonly HostPort[] }
  | { readonly mode: 'sentinel', readonly sentinels: readonly HostPort[], readonly name: string }

export interface HostPort { readonly host: string, readonly port: number }

export interface RedisConfig {
  readonly topology: RedisTopology
  readonly password: string | null
  readonly keyPrefix: string
  readonly minReplicasAck: number
}

export type RedisClient = Redis | Cluster

export interface ClientRole {
  /** Per-command budget; lookups get REVOCATION_CHECK_TIMEOUT_MS from the checker instead. */
  readonly commandTimeoutMs?: number
  readonly autoPipelining?: boolean
  /** Cap of the reconnect backoff (1000 ms). */
  readonly maxRetryDelayMs?: number
  readonly connectTimeoutMs?: number
  readonly name: string
}

function baseOptions (config: RedisConfig, role: ClientRole): RedisOptions {
  return {
    connectionName: `tokengate-${role.name}`,
    // Fail fast instead of queueing: a lookup past its budget is decided by
    // FAIL_MODE, and a revocation that cannot be stored must answer 503 now.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: role.autoPipelining ?? false,
    ...(role.commandTimeoutMs !== undefined && { commandTimeout: role.commandTimeoutMs }),
    ...(config.password !== null && { password: config.password }),
    // Capped at 1 s: a returning Redis (or a promoted replica) is used again within a second.
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, role.maxRetryDelayMs ?? 1000),
    ...(role.connectTimeoutMs !== undefined && { connectTimeout: role.connectTimeoutMs }),
    lazyConnect: true
  }
}

/** Builds a client for the configured topology; call connect() on it. */
export function createRedisClient (config: RedisConfig, role: ClientRole): RedisClient {
  const options = baseOptions(config, role)
  const { topology } = config
  switch (topology.mode) {
    case 'standalone':
      return new Redis(topology.url, options)
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
        name: topology.name,
        ...(config.password !== null && { sentinelPassword: config.password }),
        sentinelRetryStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, 2000)
      })
    case 'cluster': {
      const clusterOptions: ClusterOptions = {
        redisOptions: options,
        enableOfflineQueue: false,
        enableAutoPipelining: role.autoPipelining ?? false,
        lazyConnect: true,
        clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000)
      }
      return new Cluster(topology.nodes.map(({ host, port }) => ({ host, port })), clusterOptions)
    }
  }
}

/**
 * Connects the client and, in a cluster, every node's connection: ioredis opens
 * those lazily on first use, and a lookup's budget has no room for a handshake.
 */
export async function connectClient (client: RedisClient): Promise<void> {
  await client.connect()
  if (client instanceof Cluster) {
    await Promise.all(client.nodes('all').map(async (node) => { if (node.status === 'wait') await node.connect() }))
  }
}
