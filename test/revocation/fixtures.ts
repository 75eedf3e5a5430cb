import { RedisStore, type RedisStoreOptions } from '../../src/revocation/redis/redis-store.js'
import type { RedisTopology } from '../../src/config/types.js'

export const silent = { warn: () => {}, info: () => {} }

interface Teardown { teardown: (fn: () => unknown) => void }

/** A connected RedisStore on the given topology, closed when the test ends. */
export async function redisStore (t: Teardown, topology: RedisTopology | string, options: { keyPrefix?: string, minReplicasAck?: number, store?: RedisStoreOptions } = {}): Promise<RedisStore> {
  const store = new RedisStore({
    topology: typeof topology === 'string' ? { mode: 'standalone', url: topology } : topology,
    password: null,
    keyPrefix: options.keyPrefix ?? 'revoked:',
    minReplicasAck: options.minReplicasAck ?? 0
  }, silent, options.store)
  t.teardown(() => store.close())
  await store.connect(5000)
  return store
}

/** Number of calls of one command the server has executed (INFO commandstats). */
export function commandCalls (info: string, command: string): number {
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)
  return match === null ? 0 : Number(match[1])
}
