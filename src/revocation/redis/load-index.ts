import { CODE_OF } from '../mark-kind.js'
import { FORMAT_VERSION } from './format-version.js'
import type { RevocationEvent } from '../store.js'

/**
 * The load index: every mark write also appends one record to a string key
 * per hour of the mark's expiry (`<prefix>idx:<hour>`, expiring with that
 * hour) or, past the log's retention, to `<prefix>idx:far`. A full load reads
 * these few keys (GET: one bulk reply each, no per-key work in Redis) instead
 * of scanning a million marks.
 *
 * Record, big-endian, versions 2 and 3: 0x80 | version (1 byte), kind (1 byte),
 * before (u32, user and global), expires (u32, seconds), id length (u16),
 * issuer length (u16), id (UTF-8), issuer (UTF-8). Version 1 records
 * (written before the version existed) have no version byte, so their first
 * byte, the kind, is below 0x80; no issuer: kind, before, expires, id length, id.
 * Records of versions 1 and 2 are marks of every issuer (format-version.ts).
 */
export const VERSIONED = 0x80
export const RECORD_HEADER = 14
export const RECORD_HEADER_V1 = 11
const HOUR_S = 3600
/** Ids (and issuers) longer than this are refused at the edge long before; a record must stay parseable. */
const MAX_ID_BYTES = 0xFFFF

export function indexRecord (event: RevocationEvent): Buffer {
  const id = Buffer.from(event.kind === 'global' ? '' : event.id, 'utf8')
  const issuer = Buffer.from(event.issuer, 'utf8')
  if (id.length > MAX_ID_BYTES || issuer.length > MAX_ID_BYTES) throw new RangeError('revocation id or issuer too long')
  const record = Buffer.allocUnsafe(RECORD_HEADER + id.length + issuer.length)
  record.writeUInt8(VERSIONED | FORMAT_VERSION, 0)
  record.writeUInt8(CODE_OF[event.kind], 1)
  record.writeUInt32BE(event.kind === 'user' || event.kind === 'global' ? event.before : 0, 2)
  record.writeUInt32BE(event.expiresAt, 6)
  record.writeUInt16BE(id.length, 10)
  record.writeUInt16BE(issuer.length, 12)
  id.copy(record, RECORD_HEADER)
  issuer.copy(record, RECORD_HEADER + id.length)
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
