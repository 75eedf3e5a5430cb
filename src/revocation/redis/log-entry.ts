import { isIdKind, isMarkKind } from '../mark-kind.js'
import type { MarkKind, RevocationEvent } from '../store.js'
import { ANY_ISSUER } from '../issuer-scope.js'
import { decodeOrigin, encodeOrigin, type RevocationOrigin } from '../revocation-origin.js'
import { FORMAT_VERSION, PER_ISSUER_VERSION, UnknownFormatError } from './format-version.js'

/**
 * The fields of an event as the mark and log scripts take them: format,
 * issuer, kind, id, before, expires, the log's retention (ms), origin.
 * The origin (`o`, revocation-origin.ts) is an optional field, not a new
 * format: a replica that does not know it ignores it and alerts as before.
 */
export function entryArgs (event: RevocationEvent, retentionMs: string): [string, string, string, string, string, string, string, string] {
  const id = event.kind === 'global' ? '' : event.id
  const before = event.kind === 'user' || event.kind === 'global' ? String(event.before) : ''
  return [String(FORMAT_VERSION), event.issuer, event.kind, id, before, String(event.expiresAt), retentionMs, encodeOrigin(event.origin)]
}

/**
 * A log entry's fields (`[k, v, k, v, ...]`) as an event; null for a
 * malformed entry or an unknown kind. An entry without `f` is version 1 (no
 * issuer); an entry of version 1 or 2 is a mark of every issuer. Throws UnknownFormatError for a version newer than `known`.
 */
export function decodeEntry (fields: readonly string[], known = FORMAT_VERSION): RevocationEvent | null {
  let version = 1
  let kind = ''
  let issuer = ''
  let id = ''
  let before = Number.NaN
  let expiresAt = Number.NaN
  let origin: RevocationOrigin | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1]
    switch (fields[i]) {
      case 'f': version = Number(value); break
      case 's': issuer = value; break
      case 'k': kind = value; break
      case 'i': id = value; break
      case 'v': before = Number(value); break
      case 'e': expiresAt = Number(value); break
      case 'o': origin = decodeOrigin(value); break
    }
  }
  if (!(version >= 1 && version <= known)) throw new UnknownFormatError(version, 'log entry', known)
  if (version < PER_ISSUER_VERSION) issuer = ANY_ISSUER
  if (!isMarkKind(kind) || !Number.isFinite(expiresAt)) return null
  const event = eventOf(kind, issuer, id, before, expiresAt)
  return event === null || origin === undefined ? event : { ...event, origin }
}

function eventOf (kind: MarkKind, issuer: string, id: string, before: number, expiresAt: number): RevocationEvent | null {
  if (isIdKind(kind)) return id === '' ? null : { kind, id, issuer, expiresAt }
  if (!Number.isFinite(before)) return null
  return kind === 'user' ? { kind, id, issuer, before, expiresAt } : { kind, issuer, before, expiresAt }
}

/** Orders two stream ids (`<ms>-<seq>`). */
export function compareIds (a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt)
  const [bMs, bSeq] = b.split('-').map(BigInt)
  if (aMs !== bMs) return aMs < bMs ? -1 : 1
  if (aSeq !== bSeq) return (aSeq ?? 0n) < (bSeq ?? 0n) ? -1 : 1
  return 0
}

/** The id `ms` milliseconds before `id` (never below 0-0). */
export function idBefore (id: string, ms: number): string {
  const at = BigInt(id.split('-')[0]) - BigInt(ms)
  return at > 0n ? `${at}-0` : '0-0'
}
