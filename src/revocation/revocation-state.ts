import { beforeOf, coveringMark, type MarkReader } from './covering.js'
import { MarkTable } from './mark-table.js'
import type { LookupQuery, MarkKind, RevocationEvent } from './store.js'

const TAG: Readonly<Record<MarkKind, number>> = { jti: 1, session: 2, user: 3, global: 4 }

/**
 * Every live revocation mark, held by this replica: it answers "revoked or
 * not" for any token without a network call. Fed by the store's log (and by
 * this replica's own writes); never bounded by a count, so no flood of
 * revocations can push one out. Marks expire by themselves.
 */
export class RevocationState {
  readonly #table: MarkTable
  #now = 0
  readonly #read: MarkReader = (kind, id) => this.#table.before(TAG[kind], id, this.#now)

  constructor (table: MarkTable = new MarkTable()) {
    this.#table = table
  }

  covering (query: LookupQuery, now: number): MarkKind | null {
    this.#now = now
    return coveringMark(query, this.#read)
  }

  apply (event: RevocationEvent, now: number): void {
    const id = event.kind === 'global' ? '' : event.id
    const before = event.kind === 'user' || event.kind === 'global' ? event.before : beforeOf(event.kind, 1)
    this.#table.put(TAG[event.kind], id, before, event.expiresAt, now)
  }

  reserve (n: number, now: number): void {
    this.#table.reserve(n, now)
  }

  size (now: number): number {
    return this.#table.size(now)
  }

  get bytes (): number {
    return this.#table.bytes
  }

  sweep (now: number): number {
    return this.#table.sweep(now)
  }
}
