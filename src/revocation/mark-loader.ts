import { Cluster, type Redis } from 'ioredis'
import { beforeOf } from './covering.js'
import type { RedisClient } from './redis-client.js'
import type { RedisKeys } from './redis-keys.js'
import { DUMP_SCRIPT } from './mark-script.js'
import type { RevocationEvent } from './store.js'
import { nowSeconds } from './store.js'

const SCAN_COUNT = 5000
/** A mark without a TTL (written by hand) never expires, as in Redis. */
const NEVER = 0xFFFF_FFFE

/**
 * Reads every live mark (a SCAN step with values and lifetimes in one script
 * call on each primary, each guarded against a dead path): the marks, not the log, are the full state, so a
 * log trimmed past a replica's position loses nothing. Returns the count.
 */
export async function loadMarks (
  client: RedisClient,
  keys: RedisKeys,
  apply: (event: RevocationEvent) => void,
  guard: <T>(command: Promise<T>) => Promise<T>
): Promise<number> {
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client]
  let count = 0
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, packed] = await guard(node.eval(DUMP_SCRIPT, 0, cursor, keys.pattern, SCAN_COUNT)) as [string, string]
      cursor = next
      // cjson encodes an empty table as an object.
      const found = JSON.parse(packed) as Array<string | number> | Record<string, never>
      if (!Array.isArray(found)) continue
      const now = nowSeconds()
      for (let i = 0; i + 2 < found.length; i += 3) {
        const mark = keys.parse(String(found[i]))
        const ttlMs = Number(found[i + 2])
        if (mark === null || ttlMs === -2) continue
        const { kind, id } = mark
        const expiresAt = ttlMs < 0 ? NEVER : now + Math.ceil(ttlMs / 1000)
        const before = beforeOf(kind, String(found[i + 1]))
        apply(kind === 'global' ? { kind, before, expiresAt } : kind === 'user' ? { kind, id, before, expiresAt } : { kind, id, expiresAt })
        count++
      }
    } while (cursor !== '0')
  }
  return count
}
