import type { RedisClient } from '../../redis/redis-client.js'
import type { RedisKeys } from './redis-keys.js'
import { isIdKind, kindOfCode } from '../mark-kind.js'
import { ANY_ISSUER } from '../issuer-scope.js'
import { FORMAT_VERSION, PER_ISSUER_VERSION, UnknownFormatError } from './format-version.js'
import { liveBuckets, RECORD_HEADER, RECORD_HEADER_V1, VERSIONED } from './load-index.js'
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

/** One record's fields, read in place (one object for the whole load). */
interface Cursor { version: number, kind: number, before: number, expiresAt: number, start: number, end: number, issuerEnd: number }

/**
 * Reads the record at `at` into `c`; returns where the next one starts, or -1
 * when the buffer ends inside its header. Throws UnknownFormatError for a
 * version it does not know: stopping beats skipping a revocation.
 */
function readRecord (buffer: Buffer, at: number, c: Cursor, known: number): number {
  const first = buffer[at]
  if (first < VERSIONED) {
    if (at + RECORD_HEADER_V1 > buffer.length) return -1
    c.version = 1
    c.kind = first
    c.before = buffer.readUInt32BE(at + 1)
    c.expiresAt = buffer.readUInt32BE(at + 5)
    c.start = at + RECORD_HEADER_V1
    c.end = c.start + buffer.readUInt16BE(at + 9)
    c.issuerEnd = c.end
    return c.end
  }
  const version = first & ~VERSIONED
  if (version < 2 || version > known) throw new UnknownFormatError(version, 'load index record', known)
  if (at + RECORD_HEADER > buffer.length) return -1
  c.version = version
  c.kind = buffer[at + 1]
  c.before = buffer.readUInt32BE(at + 2)
  c.expiresAt = buffer.readUInt32BE(at + 6)
  c.start = at + RECORD_HEADER
  c.end = c.start + buffer.readUInt16BE(at + 10)
  c.issuerEnd = c.end + buffer.readUInt16BE(at + 12)
  return c.issuerEnd
}

export function readRecords (buffer: Buffer, listener: Pick<LogListener, 'onEvent' | 'onAsciiMark'>, known = FORMAT_VERSION): number {
  const now = nowSeconds()
  const c: Cursor = { version: 0, kind: 0, before: 0, expiresAt: 0, start: 0, end: 0, issuerEnd: 0 }
  const issuers = new IssuerReader()
  let count = 0
  let at = 0
  while (at < buffer.length) {
    const next = readRecord(buffer, at, c, known)
    if (next < 0) break
    at = next
    const kind = kindOfCode(c.kind)
    // A truncated record (never written so) or an unknown kind is skipped, not guessed.
    if (c.issuerEnd > buffer.length || kind === undefined) continue
    count++
    const { before, expiresAt, start, end } = c
    if (expiresAt <= now) continue
    const issuer = c.version < PER_ISSUER_VERSION ? ANY_ISSUER : issuers.read(buffer, end, c.issuerEnd)
    if (isIdKind(kind) && listener.onAsciiMark !== undefined && isAscii(buffer, start, end)) {
      listener.onAsciiMark(kind, issuer, buffer, start, end, expiresAt)
      continue
    }
    const id = buffer.toString('utf8', start, end)
    listener.onEvent(isIdKind(kind) ? { kind, id, issuer, expiresAt } : kind === 'user' ? { kind, id, issuer, before, expiresAt } : { kind, issuer, before, expiresAt })
  }
  return count
}

/** Issuers as strings, the last one kept: records of one issuer follow each other without a string each. */
class IssuerReader {
  #bytes = Buffer.alloc(0)
  #issuer = ''

  read (buffer: Buffer, start: number, end: number): string {
    if (this.#bytes.compare(buffer, start, end) !== 0) {
      this.#bytes = Buffer.from(buffer.subarray(start, end))
      this.#issuer = this.#bytes.toString('utf8')
    }
    return this.#issuer
  }
}

function isAscii (bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] > 0x7F) return false
  return true
}

function countRecords (buffer: Buffer): number {
  const c: Cursor = { version: 0, kind: 0, before: 0, expiresAt: 0, start: 0, end: 0, issuerEnd: 0 }
  let records = 0
  for (let at = 0; at >= 0 && at < buffer.length; records++) at = readRecord(buffer, at, c, FORMAT_VERSION)
  return records
}
