import { LruMap } from '../cache/lru-map.js'
import type { LookupQuery, MarkKind, RevocationEvent } from './store.js'

interface BeforeMark { before: number, expiresAt: number }

/**
 * What this replica knows to be revoked: its own writes, revocation events from
 * every replica, and lookups that came back revoked. Bounded; losing an entry
 * only means asking the store again. It is what keeps a known-revoked token
 * denied when the store cannot answer, in either fail mode.
 */
export class LocalMarks {
  readonly #tokens: LruMap<string, number>
  readonly #sessions: LruMap<string, number>
  readonly #users: LruMap<string, BeforeMark>
  #global: BeforeMark | null = null

  constructor (max: number) {
    const size = Math.max(1, max)
    this.#tokens = new LruMap(size)
    this.#sessions = new LruMap(size)
    this.#users = new LruMap(size)
  }

  /** The local mark covering a token, if any (expired marks are ignored and dropped). */
  covers ({ jti, sid, sub, iat }: LookupQuery, now: number): MarkKind | null {
    if (alive(this.#tokens, jti, now)) return 'jti'
    if (alive(this.#sessions, sid, now)) return 'session'
    const user = this.#users.get(sub)
    if (user !== undefined && user.expiresAt > now && iat <= user.before) return 'user'
    const global = this.#global
    if (global !== null && global.expiresAt > now && iat <= global.before) return 'global'
    return null
  }

  addToken (jti: string, expiresAt: number): void {
    this.#tokens.set(jti, expiresAt)
  }

  apply (event: RevocationEvent): void {
    switch (event.kind) {
      case 'jti':
        this.#tokens.set(event.id, event.expiresAt)
        break
      case 'session':
        this.#sessions.set(event.id, event.expiresAt)
        break
      case 'user': {
        const current = this.#users.get(event.id)
        this.#users.set(event.id, later(current, event))
        break
      }
      case 'global':
        this.#global = later(this.#global ?? undefined, event)
        break
    }
  }

  get size (): number {
    return this.#tokens.size + this.#sessions.size + this.#users.size + (this.#global === null ? 0 : 1)
  }

  /** Drops expired entries; returns how many went. */
  prune (now: number): number {
    let removed = 0
    for (const cache of [this.#tokens, this.#sessions]) {
      for (const [key, expiresAt] of cache.entries()) {
        if (expiresAt <= now) { cache.delete(key); removed++ }
      }
    }
    for (const [key, mark] of this.#users.entries()) {
      if (mark.expiresAt <= now) { this.#users.delete(key); removed++ }
    }
    if (this.#global !== null && this.#global.expiresAt <= now) { this.#global = null; removed++ }
    return removed
  }
}

function alive (cache: LruMap<string, number>, key: string, now: number): boolean {
  const expiresAt = cache.get(key)
  if (expiresAt === undefined) return false
  if (expiresAt > now) return true
  cache.delete(key)
  return false
}

function later (current: BeforeMark | undefined, event: { before: number, expiresAt: number }): BeforeMark {
  if (current === undefined) return { before: event.before, expiresAt: event.expiresAt }
  return { before: Math.max(current.before, event.before), expiresAt: Math.max(current.expiresAt, event.expiresAt) }
}
