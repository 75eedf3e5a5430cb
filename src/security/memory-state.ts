import { LRUCache } from 'lru-cache'
import { BUCKET_S, MAX_MEMBERS, bucketOf, type MonitorState } from './monitor-state.js'

const MAX_KEYS = 50_000

interface Entry { expiresAt: number, value: unknown }

/** Single-replica monitor state; every map is bounded so that abuse cannot grow memory. */
export class MemoryMonitorState implements MonitorState {
  readonly name = 'memory'
  readonly ready = true
  readonly #entries = new LRUCache<string, Entry>({ max: MAX_KEYS })
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  async count (key: string, n: number, windowS: number): Promise<number> {
    const now = this.#now()
    const buckets = this.#get<Map<number, number>>(key, now) ?? new Map<number, number>()
    const bucket = bucketOf(now)
    const oldest = bucket - Math.ceil(windowS / BUCKET_S) + 1
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + n)
    let total = 0
    for (const [at, value] of buckets) {
      if (at < oldest) buckets.delete(at)
      else total += value
    }
    this.#set(key, buckets, now + windowS * 1000)
    return total
  }

  async distinct (pairs: ReadonlyArray<readonly [key: string, member: string]>, windowS: number): Promise<number[]> {
    return pairs.map(([key, member]) => this.#distinct(key, member, windowS))
  }

  #distinct (key: string, member: string, windowS: number): number {
    const now = this.#now()
    const members = this.#get<Map<string, number>>(key, now) ?? new Map<string, number>()
    for (const [seen, at] of members) if (at <= now - windowS * 1000) members.delete(seen)
    // Counted from its first record, as in Redis: a member seen again adds nothing.
    if (members.has(member)) return 0
    members.set(member, now)
    if (members.size > MAX_MEMBERS) members.delete(members.keys().next().value as string)
    this.#set(key, members, now + windowS * 1000)
    return members.size
  }

  async once (key: string, ttlS: number): Promise<boolean> {
    const now = this.#now()
    if (this.#get(key, now) !== undefined) return false
    this.#set(key, true, now + ttlS * 1000)
    return true
  }

  async push (key: string, item: string, cap: number, ttlS: number): Promise<void> {
    const now = this.#now()
    const items = this.#get<string[]>(key, now) ?? []
    items.unshift(item)
    if (items.length > cap) items.length = cap
    this.#set(key, items, now + ttlS * 1000)
  }

  async range (key: string, limit: number): Promise<string[]> {
    return (this.#get<string[]>(key, this.#now()) ?? []).slice(0, limit)
  }

  async close (): Promise<void> {
    this.#entries.clear()
  }

  #get<T> (key: string, now: number): T | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.value as T
  }

  #set (key: string, value: unknown, expiresAt: number): void {
    this.#entries.set(key, { value, expiresAt })
  }
}
