/**
 * Every kind of revocation mark, listed here and nowhere else. A kind's code
 * (its place, from 1) tags it in the mark tables and the load index: append
 * a new kind, never reorder.
 */
export const MARK_KINDS = ['jti', 'session', 'user', 'global'] as const

/** Which mark revoked a token. */
export type MarkKind = typeof MARK_KINDS[number]

/** Marks that name one token or one session: they cover it whatever its iat, and have no "revoked before". */
export type IdMarkKind = 'jti' | 'session'

export function isIdKind (kind: MarkKind): kind is IdMarkKind {
  return kind === 'jti' || kind === 'session'
}

export function isMarkKind (value: string): value is MarkKind {
  return (MARK_KINDS as readonly string[]).includes(value)
}

/** The kind's code, 1 to MARK_KINDS.length. */
export const CODE_OF = Object.fromEntries(MARK_KINDS.map((kind, i) => [kind, i + 1])) as Readonly<Record<MarkKind, number>>

/** The kind of a code read back; undefined for a code this version does not know. */
export function kindOfCode (code: number): MarkKind | undefined {
  return MARK_KINDS[code - 1]
}

/** A count per kind, every kind at zero. */
export function perKind (): Record<MarkKind, number> {
  return Object.fromEntries(MARK_KINDS.map((kind) => [kind, 0])) as Record<MarkKind, number>
}
