import type { MarkKind, RevocationEvent } from '../store.js'

/**
 * The load index: every mark write also appends one record to a string key
 * per hour of the mark's expiry (`<prefix>idx:<hour>`, expiring with that
 * hour) or, past the log's retention, to `<prefix>idx:far`. A full load reads
 * these few keys (GET: one bulk reply each, no per-key work in Redis) instead
 * of scanning a million marks.
 *
 * Record: kind (1 byte), before (u32, user and global), expires (u32,
 * seconds), id length (u16), id (UTF-8); big-endian. A later issuer is one
 * more kind or a field after the id without touching old records.
 */
export const RECORD_HEADER = 11
const CODES: Readonly<Record<MarkKind, number>> = { jti: 1, session: 2, user: 3, global: 4 }
export const KIND_OF_CODE: ReadonlyArray<MarkKind | undefined> = [undefined, 'jti', 'session', 'user', 'global']
const HOUR_S = 3600
/** Ids longer than this are refused at the edge long before; a record must stay parseable. */
const MAX_ID_BYTES = 0xFFFF

export function indexRecord (event: RevocationEvent): Buffer {
  const id = Buffer.from(event.kind === 'global' ? '' : event.id, 'utf8')
  if (id.length > MAX_ID_BYTES) throw new RangeError('revocation id too long')
  const record = Buffer.allocUnsafe(RECORD_HEADER + id.length)
  record.writeUInt8(CODES[event.kind], 0)
  record.writeUInt32BE(event.kind === 'user' || event.kind === 'global' ? event.before : 0, 1)
  record.writeUInt32BE(event.expiresAt, 5)
  record.writeUInt16BE(id.length, 9)
  id.copy(record, RECORD_HEADER)
  return record
}

/** The bucket of a mark expiring at `expiresAt`: its hour, or 'far' past the retention. */
export function bucketOf (expiresAt: number, now: number, retentionS: number): string {
  return expiresAt > now + retentionS ? 'far' : String(Math.floor(expiresAt / HOUR_S))
}

/** When a bucket's key may go: an hour after its own (clock skew), the far bucket after its latest mark. */
export function bucketExpiry (bucket: string, expiresAt: number): number {
  return (bucket === 'far' ? expiresAt : (Number(bucket) + 1) * HOUR_S) + HOUR_S
}

/** Every bucket that can hold a live mark: the hours from now to the retention's end (one more: clock skew), and 'far'. */
export function liveBuckets (now: number, retentionS: number): string[] {
  const buckets: string[] = []
  for (let hour = Math.floor(now / HOUR_S) - 1; hour <= Math.floor((now + retentionS) / HOUR_S) + 1; hour++) buckets.push(String(hour))
  buckets.push('far')
  return buckets
}
