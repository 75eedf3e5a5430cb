import { beforeOf, COVERS_ALL, coveringMark, type MarkReader } from './covering.js'
import { MarkTable } from './mark-table.js'
import { CODE_OF as TAG, isIdKind, type IdMarkKind } from './mark-kind.js'
import type { LookupQuery, MarkKind, RevocationEvent } from './store.js'

/**
 * Every live revocation mark, held by this replica: it answers "revoked or
 * not" for any token without a network call. Fed by the store's log (and by
 * this replica's own writes); never bounded by a count, so no flood of
 * revocations can push one out. Marks expire by themselves. jti and session
 * marks (nearly all of them) live in a table without a "before" column.
 */
export class RevocationState {
  readonly #ids: MarkTable
  readonly #befores: MarkTable
  #now = 0
  readonly #read: MarkReader = (kind, id) => (isIdKind(kind) ? this.#ids : this.#befores).before(TAG[kind], id, this.#now)

  constructor (ids = new MarkTable(false, COVERS_ALL), befores = new MarkTable(true, COVERS_ALL, 16)) {
    this.#ids = ids
    this.#befores = befores
  }

  covering (query: LookupQuery, now: number): MarkKind | null {
    this.#now = now
    return coveringMark(query, this.#read)
  }

  apply (event: RevocationEvent, now: number): void {
    switch (event.kind) {
      case 'jti': case 'session': this.#ids.put(TAG[event.kind], event.id, beforeOf(event.kind, 1), event.expiresAt, now); break
      case 'user': this.#befores.put(TAG.user, event.id, event.before, event.expiresAt, now); break
      case 'global': this.#befores.put(TAG.global, '', event.before, event.expiresAt, now); break
    }
  }

  /** apply() for a jti or session mark whose id is ASCII bytes of a load reply. */
  applyAscii (kind: IdMarkKind, bytes: Uint8Array, start: number, end: number, expiresAt: number, now: number): void {
    this.#ids.putAscii(TAG[kind], bytes, start, end, COVERS_ALL, expiresAt, now)
  }

  /** Makes room for n more jti or session marks. */
  reserve (n: number, now: number): void {
    this.#ids.reserve(n, now)
  }

  size (now: number): number {
    return this.#ids.size(now) + this.#befores.size(now)
  }

  get bytes (): number {
    return this.#ids.bytes + this.#befores.bytes
  }

  sweep (now: number): number {
    return this.#ids.sweep(now) + this.#befores.sweep(now)
  }
}
