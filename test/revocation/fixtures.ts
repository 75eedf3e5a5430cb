import { RedisStore, type RedisStoreOptions } from '../../src/revocation/redis/redis-store.js'
import type { RedisTopology } from '../../src/redis/redis-client.js'
import { RevocationChecker, type CheckerOptions } from '../../src/revocation/checker.js'
import { ReplicaState, type ReplicaStateOptions } from '../../src/revocation/replica-state.js'
import type { RevocationStore } from '../../src/revocation/store.js'

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

export interface Replica { readonly replica: ReplicaState, readonly checker: RevocationChecker }

/** A replica's state following `store` and the checker that decides from it; both closed when the test ends. */
export function replicaOn (t: Teardown, store: RevocationStore, options: CheckerOptions & ReplicaStateOptions): Replica {
  const replica = new ReplicaState(store, options)
  const checker = new RevocationChecker(replica, store, options)
  t.teardown(() => { checker.close(); replica.close() })
  return { replica, checker }
}
