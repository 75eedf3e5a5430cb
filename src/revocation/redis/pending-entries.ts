import type { RedisClient } from '../../redis/redis-client.js'
import { decodeEntry } from './log-entry.js'
import { ROLL_FORWARD_GROUP } from './log-recovery.js'
import type { LogListener } from '../store.js'

const PAGE = 1000

/**
 * Delivers the log entries of Cluster writes not known complete: pending in
 * the log's group from the log step until the mark is stored (LOG_SCRIPT), so
 * their index record may be missing. Read before the index (whose records
 * are written before the entry leaves the group) and after the log's head
 * (later entries are replayed from the log), a full load misses none, however
 * long a write has been rolling forward. Usually none: one XPENDING.
 */
export async function loadPending (client: RedisClient, logKey: string, listener: LogListener, guard: <T>(command: Promise<T>) => Promise<T>): Promise<number> {
  let delivered = 0
  let start = '-'
  for (;;) {
    let page: Array<[string, ...unknown[]]>
    try {
      page = await guard(client.xpending(logKey, ROLL_FORWARD_GROUP, start, '+', PAGE)) as Array<[string, ...unknown[]]>
    } catch (err) {
      // No group: no Cluster write since the log was created.
      if (/NOGROUP|no such key/i.test((err as Error).message)) return delivered
      throw err
    }
    if (page.length === 0) return delivered
    const reads = client.pipeline()
    for (const [id] of page) reads.xrange(logKey, id, id)
    for (const [err, entries] of await guard(reads.exec()) ?? []) {
      if (err !== null) throw err
      for (const [, fields] of entries as Array<[string, string[]]>) {
        const event = decodeEntry(fields)
        if (event === null) continue
        listener.onEvent(event)
        delivered++
      }
    }
    if (page.length < PAGE) return delivered
    start = `(${page[page.length - 1][0]}`
  }
}
