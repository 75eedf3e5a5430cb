import { isIdKind } from './mark-kind.js'
import type { LookupQuery, MarkKind } from './store.js'

/** The "revoked before" of a jti or session mark: it covers every token it names, whatever its iat. */
export const COVERS_ALL = 0xFFFF_FFFF

/** The "revoked before" (seconds) of the live mark of this kind and id; -1 when there is none. */
export type MarkReader = (kind: MarkKind, id: string) => number

/**
 * The one rule that says whether a mark covers a token, used by the memory
 * store, the Redis lookup and every replica's local state: a jti or session
 * mark covers the tokens it names; a user or global mark covers the tokens
 * issued at or before its time (same second included: safety first). That
 * time already includes the clock tolerance (revokedBefore, mark-lifetime.ts).
 */
export function coveringMark (query: LookupQuery, read: MarkReader): MarkKind | null {
  const iat = query.iat
  if (read('jti', query.jti) >= iat) return 'jti'
  if (read('session', query.sid) >= iat) return 'session'
  if (read('user', query.sub) >= iat) return 'user'
  if (read('global', '') >= iat) return 'global'
  return null
}

/** "revoked before" as a mark's stored value says it: jti and session marks cover all. */
export function beforeOf (kind: MarkKind, value: string | number): number {
  return isIdKind(kind) ? COVERS_ALL : Number(value)
}
