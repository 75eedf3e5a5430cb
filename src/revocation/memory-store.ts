import type { LookupQuery, MarkKind, RevocationEvent, RevocationStore, StoreStats, SubscriptionListener } from './store.js'
import { nowSeconds } from './store.js'

interface Mark { value: number, expiresAt: number }

const SWEEP_INTERVAL_MS = 60_000

/**
 * Single-instance store for the embedded default and tests. It cannot share
 * state between replicas: running more than one gateway needs Redis.
 */
export class MemoryStore implements RevocationStore {
  readonly name = 'memory'
  readonly #marks: Record<Exclude<MarkKind, 'global'>, Map<string, Mark>> = {
    jti: new Map(),
    session: new Map(),
    user: new Map()
  }

  #global: Mark | null = null
  readonly #listeners: SubscriptionListener[] = []
  readonly #sweeper: NodeJS.Timeout

  constructor () {
    this.#sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref()
  }

  async lookup ({ jti, sid, sub, iat }: LookupQuery): Promise<MarkKind | null> {
    const now = nowSeconds()
    if (live(this.#marks.jti.get(jti), now)) return 'jti'
    if (live(this.#marks.session.get(sid), now)) return 'session'
    const user = this.#marks.user.get(sub)
    if (live(user, now) && iat <= user.value) return 'user'
    if (live(this.#global, now) && iat <= this.#global.value) return 'global'
    return null
  }

  async revokeToken (jti: string, ttlS: number): Promise<boolean> {
    const now = nowSeconds()
    if (live(this.#marks.jti.get(jti), now)) return false
    this.#set('jti', jti, 1, now + ttlS)
    this.#emit({ kind: 'jti', id: jti, expiresAt: now + ttlS })
    return true
  }

  async revokeSession (sid: string, ttlS: number): Promise<void> {
    const expiresAt = nowSeconds() + ttlS
    this.#set('session', sid, 1, expiresAt)
    this.#emit({ kind: 'session', id: sid, expiresAt })
  }

  async revokeUser (sub: string, before: number, ttlS: number): Promise<void> {
    const expiresAt = nowSeconds() + ttlS
    const current = this.#marks.user.get(sub)
    this.#set('user', sub, Math.max(before, current?.value ?? 0), Math.max(expiresAt, current?.expiresAt ?? 0))
    this.#emit({ kind: 'user', id: sub, before, expiresAt })
  }

  async revokeAll (before: number, ttlS: number): Promise<void> {
    const expiresAt = nowSeconds() + ttlS
    const current = this.#global
    this.#global = { value: Math.max(before, current?.value ?? 0), expiresAt: Math.max(expiresAt, current?.expiresAt ?? 0) }
    this.#emit({ kind: 'global', before, expiresAt })
  }

  subscribe (listener: SubscriptionListener): void {
    this.#listeners.push(listener)
    listener.onHealth(true)
  }

  async ping (): Promise<void> {}

  async stats (): Promise<StoreStats> {
    this.sweep()
    return {
      marks: {
        jti: this.#marks.jti.size,
        session: this.#marks.session.size,
        user: this.#marks.user.size,
        global: this.#global === null ? 0 : 1
      },
      memoryBytes: null
    }
  }

  /** Drops expired marks; lookups ignore them anyway. */
  sweep (): void {
    const now = nowSeconds()
    for (const map of Object.values(this.#marks)) {
      for (const [key, mark] of map) if (!live(mark, now)) map.delete(key)
    }
    if (this.#global !== null && !live(this.#global, now)) this.#global = null
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
  }

  #set (kind: Exclude<MarkKind, 'global'>, key: string, value: number, expiresAt: number): void {
    this.#marks[kind].set(key, { value, expiresAt })
  }

  #emit (event: RevocationEvent): void {
    for (const listener of this.#listeners) listener.onEvent(event)
  }
}

function live (mark: Mark | null | undefined, now: number): mark is Mark {
  return mark !== undefined && mark !== null && mark.expiresAt > now
}
