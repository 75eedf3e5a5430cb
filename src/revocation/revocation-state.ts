import { beforeOf, COVERS_ALL, coveringMark, type MarkReader } from './covering.js'
import { MarkTable } from './mark-table.js'
import { ANY_ISSUER } from './issuer-scope.js'
import { CODE_OF as TAG, isIdKind, type IdMarkKind } from './mark-kind.js'
import type { LookupQuery, MarkKind, RevocationEvent } from './store.js'

/**
 * Every live revocation mark, held by this replica: it answers "revoked or
 * not" for any token without a network call. Fed by the store's log (and by
 * this replica's own writes); never bounded by a count, so no flood of
 * revocations can push one out. Marks expire by themselves. jti and session
 * marks (nearly all of them) live in a table without a "before" column. Marks
 * of every issuer (ANY_ISSUER: all-issuer revocations and marks written before
 * marks were kept per issuer) have tables of their own, nearly always empty,
 * which a look-up then passes at no cost.
 */
export class RevocationState {
  readonly #ids: MarkTable
  readonly #befores: MarkTable
  readonly #anyIds = new MarkTable(false, COVERS_ALL, 16)
  readonly #anyBefores = new MarkTable(true, COVERS_ALL, 16)
  #now = 0
  readonly #read: MarkReader = (kind, issuer, id) => issuer === ANY_ISSUER
    ? (isIdKind(kind) ? this.#anyIds : this.#anyBefores).before(TAG[kind], '', id, this.#now)
    : (isIdKind(kind) ? this.#ids : this.#befores).before(TAG[kind], issuer, id, this.#now)

  constructor (ids = new MarkTable(false, COVERS_ALL), befores = new MarkTable(true, COVERS_ALL, 16)) {
    this.#ids = ids
    this.#befores = befores
  }

  covering (query: LookupQuery, now: number): MarkKind | null {
    this.#now = now
    return coveringMark(query, this.#read)
  }

  apply (event: RevocationEvent, now: number): void {
    const any = event.issuer === ANY_ISSUER
    const issuer = any ? '' : event.issuer
    switch (event.kind) {
      case 'jti': case 'session': (any ? this.#anyIds : this.#ids).put(TAG[event.kind], issuer, event.id, beforeOf(event.kind, 1), event.expiresAt, now); break
      case 'user': (any ? this.#anyBefores : this.#befores).put(TAG.user, issuer, event.id, event.before, event.expiresAt, now); break
      case 'global': (any ? this.#anyBefores : this.#befores).put(TAG.global, issuer, '', event.before, event.expiresAt, now); break
    }
  }

  /** apply() for a jti or session mark whose id is ASCII bytes of a load reply. */
  applyAscii (kind: IdMarkKind, issuer: string, bytes: Uint8Array, start: number, end: number, expiresAt: number, now: number): void {
    if (issuer === ANY_ISSUER) this.#anyIds.putAscii(TAG[kind], '', bytes, start, end, COVERS_ALL, expiresAt, now)
    else this.#ids.putAscii(TAG[kind], issuer, bytes, start, end, COVERS_ALL, expiresAt, now)
  }

  /** Makes room for n more jti or session marks. */
  reserve (n: number, now: number): void {
    this.#ids.reserve(n, now)
  }

  size (now: number): number {
    return this.#tables.reduce((sum, table) => sum + table.size(now), 0)
  }

  get bytes (): number {
    return this.#tables.reduce((sum, table) => sum + table.bytes, 0)
  }

  sweep (now: number): number {
    return this.#tables.reduce((sum, table) => sum + table.sweep(now), 0)
  }

  get #tables (): MarkTable[] {
    return [this.#ids, this.#befores, this.#anyIds, this.#anyBefores]
  }
}
