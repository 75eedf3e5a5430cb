import type { RedisClient } from '../../redis/redis-client.js'
import type { RedisKeys } from './redis-keys.js'
import { KIND_OF_CODE, liveBuckets, RECORD_HEADER } from './load-index.js'
import type { LogListener } from '../store.js'
import { nowSeconds } from '../store.js'

/**
 * Reads every live mark from the load index (the lengths of a few hundred
 * bucket keys, then one GET per non-empty bucket, each guarded against a dead
 * path) and hands it to the listener, bucket by bucket so that one reply
 * buffer is held at a time. The index,
 * written with every mark, is the full state: a log trimmed past a replica's
 * position loses nothing. Returns the count of records read.
 */
export async function loadIndex (
  client: RedisClient,
  keys: RedisKeys,
  retentionS: number,
  listener: LogListener,
  guard: <T>(command: Promise<T>) => Promise<T>
): Promise<number> {
  const buckets = liveBuckets(nowSeconds(), retentionS).map((bucket) => keys.index(bucket))
  const lengths = await guard(Promise.all(buckets.map(async (key) => await client.strlen(key))))
  const totalBytes = lengths.reduce((sum, length) => sum + length, 0)
  let count = 0
  let sized = false
  for (const [i, key] of buckets.entries()) {
    if (lengths[i] === 0) continue
    const reply = await guard(client.getBuffer(key))
    if (reply === null) continue
    if (!sized) {
      sized = true
      // Sized once: every bucket's length over the first bucket's average record.
      listener.onLoadSize?.(Math.ceil(totalBytes / (reply.length / Math.max(1, countRecords(reply)))))
    }
    count += readRecords(reply, listener)
  }
  return count
}

function readRecords (buffer: Buffer, listener: LogListener): number {
  const now = nowSeconds()
  let count = 0
  let at = 0
  while (at + RECORD_HEADER <= buffer.length) {
    const kind = KIND_OF_CODE[buffer[at]]
    const before = buffer.readUInt32BE(at + 1)
    const expiresAt = buffer.readUInt32BE(at + 5)
    const start = at + RECORD_HEADER
    const end = start + buffer.readUInt16BE(at + 9)
    at = end
    // A truncated record (never written so) or an unknown kind is skipped, not guessed.
    if (end > buffer.length || kind === undefined) continue
    count++
    if (expiresAt <= now) continue
    if ((kind === 'jti' || kind === 'session') && listener.onAsciiMark !== undefined && isAscii(buffer, start, end)) {
      listener.onAsciiMark(kind, buffer, start, end, expiresAt)
      continue
    }
    const id = buffer.toString('utf8', start, end)
    listener.onEvent(kind === 'global' ? { kind, before, expiresAt } : kind === 'user' ? { kind, id, before, expiresAt } : { kind, id, expiresAt })
  }
  return count
}

function isAscii (bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] > 0x7F) return false
  return true
}

function countRecords (buffer: Buffer): number {
  let records = 0
  for (let at = 0; at + RECORD_HEADER <= buffer.length; records++) at += RECORD_HEADER + buffer.readUInt16BE(at + 9)
  return records
}
