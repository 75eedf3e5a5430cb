/**
 * Where the monitor keeps its windows, dedup marks and capped lists: Redis
 * when configured (shared by every replica), memory otherwise. Keys are
 * namespaced by the caller; members and items are opaque strings.
 */
export interface MonitorState {
  readonly name: 'memory' | 'redis'
  /** False while the shared store is (re)connecting. */
  readonly ready: boolean
  /** Adds n to a sliding window of windowS (minute buckets) and returns the window's total. */
  count: (key: string, n: number, windowS: number) => Promise<number>
  /**
   * Records each member in its key's window of windowS (a member counts from
   * its first record until windowS later) and returns, in the same order, how
   * many distinct members the window holds once that member is in it; 0 when
   * the member was already recorded (it adds nothing). Many pairs in one call:
   * on Redis a new key costs one command, a new member of a known key a few.
   */
  distinct: (pairs: ReadonlyArray<readonly [key: string, member: string]>, windowS: number) => Promise<number[]>
  /** True the first time within ttlS (deduplication). */
  once: (key: string, ttlS: number) => Promise<boolean>
  /** Prepends item to a list capped at `cap` items, forgotten ttlS after the last push. */
  push: (key: string, item: string, cap: number, ttlS: number) => Promise<void>
  /** Up to `limit` items, newest first. */
  range: (key: string, limit: number) => Promise<string[]>
  close: () => Promise<void>
}

export const BUCKET_S = 60

/** Members kept per distinct window: more than any threshold (ALERT_TOKEN_MAX_IPS is at most 1000). */
export const MAX_MEMBERS = 1024

export function bucketOf (nowMs: number): number {
  return Math.floor(nowMs / 1000 / BUCKET_S)
}
