import { beforeOf, coveringMark } from './covering.js'
import type { Clock, LogListener, LookupQuery, MarkKind, RevocationEvent, RevocationStore, StoreStats } from './store.js'
import { nowSeconds } from './store.js'

interface Mark { before: number, expiresAt: number }

const SWEEP_INTERVAL_MS = 60_000

/**
 * Single-instance store for the embedded default and tests. It cannot share
 * state between replicas: running more than one gateway needs Redis.
 */
export class MemoryStore implements RevocationStore {
  readonly name = 'memory'
  readonly #marks: Record<MarkKind, Map<string, Mark>> = {
    jti: new Map(),
    session: new Map(),
    user: new Map(),
    global: new Map()
  }

  readonly #listeners: LogListener[] = []
  readonly #sweeper: NodeJS.Timeout
  readonly #now: Clock

  constructor (options: { readonly now?: Clock } = {}) {
    this.#now = options.now ?? Date.now
    this.#sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref()
  }

  async lookup (query: LookupQuery): Promise<MarkKind | null> {
    const now = nowSeconds(this.#now)
    return coveringMark(query, (kind, id) => {
      const mark = this.#marks[kind].get(id)
      return mark !== undefined && mark.expiresAt > now ? mark.before : -1
    })
  }

  async revokeToken (jti: string, ttlS: number): Promise<boolean> {
    const now = nowSeconds(this.#now)
    const current = this.#marks.jti.get(jti)
    if (current !== undefined && current.expiresAt > now) return false
    this.#write({ kind: 'jti', id: jti, expiresAt: now + ttlS })
    return true
  }

  async revokeSession (sid: string, ttlS: number): Promise<void> {
    this.#write({ kind: 'session', id: sid, expiresAt: nowSeconds(this.#now) + ttlS })
  }

  async revokeUser (sub: string, before: number, ttlS: number): Promise<void> {
    this.#write({ kind: 'user', id: sub, before, expiresAt: nowSeconds(this.#now) + ttlS })
  }

  async revokeAll (before: number, ttlS: number): Promise<void> {
    this.#write({ kind: 'global', before, expiresAt: nowSeconds(this.#now) + ttlS })
  }

  /** Replays the live marks, then every write as it happens: this process sees them all. */
  follow (listener: LogListener): void {
    this.sweep()
    for (const [kind, map] of Object.entries(this.#marks) as Array<[MarkKind, Map<string, Mark>]>) {
      for (const [id, mark] of map) listener.onEvent(eventOf(kind, id, mark))
    }
    this.#listeners.push(listener)
    listener.onCurrent(Number.NEGATIVE_INFINITY)
  }

  async ping (): Promise<void> {}

  async stats (): Promise<StoreStats> {
    this.sweep()
    const { jti, session, user, global } = this.#marks
    return { marks: { jti: jti.size, session: session.size, user: user.size, global: global.size }, memoryBytes: null }
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

  // Same merge as Redis' mark script: the later "before" and the longer lifetime win.
  #write (event: RevocationEvent): void {
    const id = event.kind === 'global' ? '' : event.id
    const before = event.kind === 'user' || event.kind === 'global' ? event.before : beforeOf(event.kind, 1)
    const map = this.#marks[event.kind]
    const current = map.get(id)
    const live = current !== undefined && current.expiresAt > nowSeconds(this.#now)
    map.set(id, live ? { before: Math.max(before, current.before), expiresAt: Math.max(event.expiresAt, current.expiresAt) } : { before, expiresAt: event.expiresAt })
    for (const listener of this.#listeners) listener.onEvent(event)
  }
}

function eventOf (kind: MarkKind, id: string, mark: Mark): RevocationEvent {
  if (kind === 'global') return { kind, before: mark.before, expiresAt: mark.expiresAt }
  if (kind === 'user') return { kind, id, before: mark.before, expiresAt: mark.expiresAt }
  return { kind, id, expiresAt: mark.expiresAt }
}
