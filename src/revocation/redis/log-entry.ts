import type { MarkKind, RevocationEvent } from '../store.js'

const KINDS: ReadonlySet<string> = new Set<MarkKind>(['jti', 'session', 'user', 'global'])

/** The fields of an event as the mark and log scripts take them: kind, id, before, expires. */
export function entryArgs (event: RevocationEvent): [string, string, string, string] {
  const id = event.kind === 'global' ? '' : event.id
  const before = event.kind === 'user' || event.kind === 'global' ? String(event.before) : ''
  return [event.kind, id, before, String(event.expiresAt)]
}

/** A log entry's fields (`[k, v, k, v, ...]`) as an event; null for anything malformed or unknown. */
export function decodeEntry (fields: readonly string[]): RevocationEvent | null {
  let kind = ''
  let id = ''
  let before = Number.NaN
  let expiresAt = Number.NaN
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1]
    switch (fields[i]) {
      case 'k': kind = value; break
      case 'i': id = value; break
      case 'v': before = Number(value); break
      case 'e': expiresAt = Number(value); break
    }
  }
  if (!KINDS.has(kind) || !Number.isFinite(expiresAt)) return null
  if (kind === 'jti' || kind === 'session') return id === '' ? null : { kind, id, expiresAt }
  if (!Number.isFinite(before)) return null
  return kind === 'user' ? { kind, id, before, expiresAt } : { kind: 'global', before, expiresAt }
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
