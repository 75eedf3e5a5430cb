import { randomBytes } from 'node:crypto'

const INITIAL_CAPACITY = 1024
const MAX_LOAD = 0.75

/**
 * An open-addressing hash set of 64-bit fingerprints with, per slot, the
 * mark's expiry and "revoked before" (all seconds): 16 bytes a slot, no object
 * per mark, so a million live marks fit in 32 MiB. Linear probing; a slot
 * whose mark expired is reused by the next insert that reaches it and dropped
 * by sweep(). Keys are (tag, id) and never kept: a later issuer dimension is
 * one more value mixed into the fingerprint.
 *
 * Fingerprints are keyed with a per-process random seed, so nobody can craft
 * two ids that collide on every replica. A collision can only make a token
 * look revoked (n / 2^64 per check with n live marks), never the reverse.
 */
export class MarkTable {
  #hi: Uint32Array
  #lo: Uint32Array
  #before: Uint32Array
  #expires: Uint32Array
  #mask: number
  #used = 0
  #h1 = 0
  #h2 = 0
  readonly #seed1: number
  readonly #seed2: number

  constructor (capacity = INITIAL_CAPACITY, seed: Uint32Array = new Uint32Array(randomBytes(8).buffer)) {
    const size = 2 ** Math.ceil(Math.log2(Math.max(16, capacity)))
    this.#hi = new Uint32Array(size)
    this.#lo = new Uint32Array(size)
    this.#before = new Uint32Array(size)
    this.#expires = new Uint32Array(size)
    this.#mask = size - 1
    this.#seed1 = seed[0]
    this.#seed2 = seed[1]
  }

  get capacity (): number { return this.#mask + 1 }

  /** Bytes held by the slot arrays. */
  get bytes (): number { return this.capacity * 16 }

  /** The "revoked before" of the live mark (tag, id), or -1. */
  before (tag: number, id: string, now: number): number {
    this.#hash(tag, id)
    const hi = this.#h1
    const lo = this.#h2
    const mask = this.#mask
    for (let i = hi & mask; ; i = (i + 1) & mask) {
      const slotLo = this.#lo[i]
      const slotHi = this.#hi[i]
      if (slotLo === lo && slotHi === hi) return this.#expires[i] > now ? this.#before[i] : -1
      if (slotLo === 0 && slotHi === 0) return -1
    }
  }

  /** Adds a mark, or merges it into the live one: the later "before" and the longer lifetime win. */
  put (tag: number, id: string, before: number, expiresAt: number, now: number): void {
    if (expiresAt <= now) return
    if (this.#used + 1 > this.capacity * MAX_LOAD) this.#rebuild(now, this.size(now) * 2 > this.capacity * MAX_LOAD ? 2 : 1)
    this.#hash(tag, id)
    const hi = this.#h1
    const lo = this.#h2
    const mask = this.#mask
    let reusable = -1
    for (let i = hi & mask; ; i = (i + 1) & mask) {
      const slotLo = this.#lo[i]
      const slotHi = this.#hi[i]
      if (slotLo === lo && slotHi === hi) {
        // An expired mark is gone, as in Redis: its old "before" must not carry over.
        const live = this.#expires[i] > now
        this.#before[i] = live ? Math.max(this.#before[i], before) : before
        this.#expires[i] = live ? Math.max(this.#expires[i], expiresAt) : expiresAt
        return
      }
      if (slotLo === 0 && slotHi === 0) {
        if (reusable === -1) { reusable = i; this.#used++ }
        this.#set(reusable, hi, lo, before, expiresAt)
        return
      }
      if (reusable === -1 && this.#expires[i] <= now) reusable = i
    }
  }

  /** Live marks (a scan: for metrics and stats, not the request path). */
  size (now: number): number {
    let live = 0
    for (let i = 0; i <= this.#mask; i++) if (this.#expires[i] > now) live++
    return live
  }

  /** Drops expired marks when they hold a quarter of the slots or more; returns how many went. */
  sweep (now: number): number {
    const live = this.size(now)
    const expired = this.#used - live
    if (expired === 0 || expired < this.#used / 4) return 0
    const shrink = live * 8 < this.capacity && this.capacity > INITIAL_CAPACITY
    this.#rebuild(now, shrink ? 0.5 : 1)
    return expired
  }

  /** Makes room for n more marks at once (a full load), so it grows once instead of by doubling. */
  reserve (n: number, now: number): void {
    let capacity = this.capacity
    while ((this.#used + n) > capacity * MAX_LOAD) capacity *= 2
    if (capacity !== this.capacity) this.#rebuild(now, capacity / this.capacity)
  }

  #rebuild (now: number, factor: number): void {
    const hi = this.#hi
    const lo = this.#lo
    const before = this.#before
    const expires = this.#expires
    const size = Math.max(16, (this.#mask + 1) * factor)
    this.#hi = new Uint32Array(size)
    this.#lo = new Uint32Array(size)
    this.#before = new Uint32Array(size)
    this.#expires = new Uint32Array(size)
    this.#mask = size - 1
    this.#used = 0
    for (let j = 0; j < hi.length; j++) {
      if (expires[j] <= now) continue
      let i = hi[j] & this.#mask
      while (this.#lo[i] !== 0 || this.#hi[i] !== 0) i = (i + 1) & this.#mask
      this.#set(i, hi[j], lo[j], before[j], expires[j])
      this.#used++
    }
  }

  #set (i: number, hi: number, lo: number, before: number, expiresAt: number): void {
    this.#hi[i] = hi
    this.#lo[i] = lo
    this.#before[i] = before
    this.#expires[i] = expiresAt
  }

  // Two 32-bit multiply-xorshift lanes (cyrb53's mixing, both halves kept), seeded per process.
  #hash (tag: number, id: string): void {
    let h1 = (0xdeadbeef ^ this.#seed1 ^ tag) | 0
    let h2 = (0x41c6ce57 ^ this.#seed2 ^ tag) | 0
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 2654435761)
      h2 = Math.imul(h2 ^ c, 1597334677)
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
    this.#h1 = h1 >>> 0
    // (0, 0) marks an empty slot.
    this.#h2 = (h2 >>> 0) || 1
  }
}
