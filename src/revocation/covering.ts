import { ANY_ISSUER } from './issuer-scope.js'
import { isIdKind } from './mark-kind.js'
import type { LookupQuery, MarkKind } from './store.js'

/** The "revoked before" of a jti or session mark: it covers every token it names, whatever its iat. */
export const COVERS_ALL = 0xFFFF_FFFF

/** The "revoked before" (seconds) of the live mark of this kind, issuer and id; -1 when there is none. */
export type MarkReader = (kind: MarkKind, issuer: string, id: string) => number

/**
 * The one rule that says whether a mark covers a token, used by the memory
 * store, the Redis lookup and every replica's local state: a jti or session
 * mark covers the tokens it names; a user or global mark covers the tokens
 * issued at or before its time (same second included: safety first). That
 * time already includes the clock tolerance (revokedBefore, mark-lifetime.ts).
 * A mark belongs to the token's issuer (`iss`), or to every issuer
 * (ANY_ISSUER): `alice` of one issuer is never `alice` of another.
 */
export function coveringMark (query: LookupQuery, read: MarkReader): MarkKind | null {
  const { iat, iss } = query
  if (covers(read, 'jti', iss, query.jti, iat)) return 'jti'
  if (covers(read, 'session', iss, query.sid, iat)) return 'session'
  if (covers(read, 'user', iss, query.sub, iat)) return 'user'
  if (covers(read, 'global', iss, '', iat)) return 'global'
  return null
}

function covers (read: MarkReader, kind: MarkKind, iss: string, id: string, iat: number): boolean {
  return read(kind, iss, id) >= iat || read(kind, ANY_ISSUER, id) >= iat
}

/** "revoked before" as a mark's stored value says it: jti and session marks cover all. */
export function beforeOf (kind: MarkKind, value: string | number): number {
  return isIdKind(kind) ? COVERS_ALL : Number(value)
}
