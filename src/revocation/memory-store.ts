import { beforeOf, coveringMark } from './covering.js'
import { isIdKind, MARK_KINDS } from './mark-kind.js'
import type { Clock, LogListener, LookupQuery, MarkKind, RevocationEvent, RevocationStore, StoreStats } from './store.js'
import { nowSeconds } from './store.js'

interface Mark { before: number, expiresAt: number, issuer: string, id: string }

const SWEEP_INTERVAL_MS = 60_000

/**
 * Single-instance store for the embedded default and tests. It cannot share
 * state between replicas: running more than one gateway needs Redis.
 */
export class MemoryStore implements RevocationStore {
  readonly name = 'memory'
  readonly #marks = Object.fromEntries(MARK_KINDS.map((kind) => [kind, new Map<string, Mark>()])) as Record<MarkKind, Map<string, Mark>>

  readonly #listeners: LogListener[] = []
  readonly #sweeper: NodeJS.Timeout
  readonly #now: Clock

  constructor (options: { readonly now?: Clock } = {}) {
    this.#now = options.now ?? Date.now
    this.#sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref()
  }

  async lookup (query: LookupQuery): Promise<MarkKind | null> {
    const now = nowSeconds(this.#now)
    return coveringMark(query, (kind, issuer, id) => {
      const mark = this.#marks[kind].get(keyOf(issuer, id))
      return mark !== undefined && mark.expiresAt > now ? mark.before : -1
    })
  }

  // Same merge as Redis' mark script: the later "before" and the longer lifetime win; a live jti mark stays as it is.
  async write (event: RevocationEvent): Promise<boolean> {
    const id = event.kind === 'global' ? '' : event.id
    const before = event.kind === 'user' || event.kind === 'global' ? event.before : beforeOf(event.kind, 1)
    const map = this.#marks[event.kind]
    const key = keyOf(event.issuer, id)
    const current = map.get(key)
    const live = current !== undefined && current.expiresAt > nowSeconds(this.#now)
    if (live && event.kind === 'jti') return false
    map.set(key, live
      ? { before: Math.max(before, current.before), expiresAt: Math.max(event.expiresAt, current.expiresAt), issuer: event.issuer, id }
      : { before, expiresAt: event.expiresAt, issuer: event.issuer, id })
    for (const listener of this.#listeners) listener.onEvent(event)
    return true
  }

  /** Replays the live marks, then every write as it happens: this process sees them all. */
  follow (listener: LogListener): void {
    this.sweep()
    for (const [kind, map] of Object.entries(this.#marks) as Array<[MarkKind, Map<string, Mark>]>) {
      for (const mark of map.values()) listener.onEvent(eventOf(kind, mark))
    }
    this.#listeners.push(listener)
    listener.onCurrent(Number.NEGATIVE_INFINITY)
  }

  async ping (): Promise<void> {}

  async stats (): Promise<StoreStats> {
    this.sweep()
    const marks = Object.fromEntries(MARK_KINDS.map((kind) => [kind, this.#marks[kind].size])) as Record<MarkKind, number>
    return { marks, memoryBytes: null }
  }

  /** Drops expired marks; lookups ignore them anyway. */
  sweep (): void {
    const now = nowSeconds(this.#now)
    for (const map of Object.values(this.#marks)) {
      for (const [key, mark] of map) if (mark.expiresAt <= now) map.delete(key)
    }
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
  }
}

/** One map key per (issuer, id): the issuer's length first, so that no two pairs share a key. */
function keyOf (issuer: string, id: string): string {
  return `${issuer.length}:${issuer}${id}`
}

function eventOf (kind: MarkKind, { before, expiresAt, issuer, id }: Mark): RevocationEvent {
  if (isIdKind(kind)) return { kind, id, issuer, expiresAt }
  return kind === 'user' ? { kind, id, issuer, before, expiresAt } : { kind, issuer, before, expiresAt }
}
