import { Cluster, type Redis } from 'ioredis'
import { beforeOf } from './covering.js'
import type { RedisClient } from './redis-client.js'
import type { RedisKeys } from './redis-keys.js'
import { DUMP_SCRIPT } from './mark-script.js'
import type { RevocationEvent } from './store.js'
import { nowSeconds } from './store.js'

const SCAN_COUNT = 2000
/** A mark without a TTL (written by hand) never expires, as in Redis. */
const NEVER = 0xFFFF_FFFE

/**
 * Reads every live mark (SCAN on each primary, values and lifetimes in one
 * script call per batch, each guarded against a dead path): the marks, not the log, are the full state, so a
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
      const [next, found] = await guard(node.scan(cursor, 'MATCH', keys.pattern, 'COUNT', SCAN_COUNT))
      cursor = next
      const marks = found.filter((key) => keys.parse(key) !== null)
      if (marks.length === 0) continue
      const values = await guard(node.eval(DUMP_SCRIPT, 0, ...marks)) as Array<string | number | null>
      const now = nowSeconds()
      for (let i = 0; i < marks.length; i++) {
        const value = values[2 * i]
        const ttlMs = Number(values[2 * i + 1])
        if (value === null || value === false as unknown || ttlMs === -2) continue
        const { kind, id } = keys.parse(marks[i]) as { kind: RevocationEvent['kind'], id: string }
        const expiresAt = ttlMs < 0 ? NEVER : now + Math.ceil(ttlMs / 1000)
        const before = beforeOf(kind, String(value))
        apply(kind === 'global' ? { kind, before, expiresAt } : kind === 'user' ? { kind, id, before, expiresAt } : { kind, id, expiresAt })
        count++
      }
    } while (cursor !== '0')
  }
  return count
}
