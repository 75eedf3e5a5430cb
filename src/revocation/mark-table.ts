import { Fingerprinter } from '../cache/fingerprint.js'

const INITIAL_CAPACITY = 1024
const MAX_LOAD = 0.75
const HI = 0
const LO = 1
const EXPIRES = 2
const BEFORE = 3

/**
 * An open-addressing hash set of 64-bit fingerprints with, per slot, the
 * mark's expiry and, when `withBefore`, its "revoked before" (seconds): 12 or
 * 16 bytes a slot in one typed array, no object per mark, so a million live
 * jti or session marks fit in 24 MiB. Linear probing; a slot whose mark
 * expired is reused by the next insert that reaches it and dropped by
 * sweep(). Keys are (tag, issuer, id) and never kept, only fingerprinted.
 *
 * Fingerprints are keyed with a per-process random seed, so nobody can craft
 * two ids that collide on every replica. A collision can only make a token
 * look revoked (n / 2^64 per check with n live marks), never the reverse.
 */
export class MarkTable {
  readonly #stride: number
  #slots: Uint32Array
  #mask: number
  #used = 0
  readonly #fingerprint: Fingerprinter
  readonly withBefore: boolean
  readonly coversAll: number

  /** Without `withBefore` every live mark reads as `coversAll` (jti and session marks). */
  constructor (
    withBefore: boolean,
    coversAll: number,
    capacity = INITIAL_CAPACITY,
    seed?: Uint32Array
  ) {
    this.withBefore = withBefore
    this.coversAll = coversAll
    this.#stride = withBefore ? 4 : 3
    const size = 2 ** Math.ceil(Math.log2(Math.max(16, capacity)))
    this.#slots = new Uint32Array(size * this.#stride)
    this.#mask = size - 1
    this.#fingerprint = new Fingerprinter(seed)
  }

  get capacity (): number { return this.#mask + 1 }

  /** Bytes held by the slot array. */
  get bytes (): number { return this.#slots.byteLength }

  /** The "revoked before" of the live mark (tag, issuer, id), or -1. */
  before (tag: number, issuer: string, id: string, now: number): number {
    // An empty table (the every-issuer marks, nearly always) costs no fingerprint.
    if (this.#used === 0) return -1
    this.#fingerprint.of(tag, issuer, id)
    return this.#find(now)
  }

  /** Adds a mark, or merges it into the live one: the later "before" and the longer lifetime win. */
  put (tag: number, issuer: string, id: string, before: number, expiresAt: number, now: number): void {
    if (expiresAt <= now) return
    this.#fingerprint.of(tag, issuer, id)
    this.#insert(before, expiresAt, now)
  }

  /**
   * put() for an id given as ASCII bytes (a full load reads them from one reply
   * buffer, with no string per mark): the same fingerprint as the string.
   */
  putAscii (tag: number, issuer: string, bytes: Uint8Array, start: number, end: number, before: number, expiresAt: number, now: number): void {
    if (expiresAt <= now) return
    this.#fingerprint.ofAscii(tag, issuer, bytes, start, end)
    this.#insert(before, expiresAt, now)
  }

  /** Live marks (a scan: for metrics and stats, not the request path). */
  size (now: number): number {
    let live = 0
    const slots = this.#slots
    for (let i = EXPIRES; i < slots.length; i += this.#stride) if (slots[i] > now) live++
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

  #find (now: number): number {
    const hi = this.#fingerprint.hi
    const lo = this.#fingerprint.lo
    const mask = this.#mask
    const stride = this.#stride
    const slots = this.#slots
    for (let i = hi & mask; ; i = (i + 1) & mask) {
      const at = i * stride
      const slotLo = slots[at + LO]
      const slotHi = slots[at + HI]
      if (slotLo === lo && slotHi === hi) {
        if (slots[at + EXPIRES] <= now) return -1
        return stride === 4 ? slots[at + BEFORE] : this.coversAll
      }
      if (slotLo === 0 && slotHi === 0) return -1
    }
  }

  #insert (before: number, expiresAt: number, now: number): void {
    if (this.#used + 1 > this.capacity * MAX_LOAD) this.#rebuild(now, this.size(now) * 2 > this.capacity * MAX_LOAD ? 2 : 1)
    const hi = this.#fingerprint.hi
    const lo = this.#fingerprint.lo
    const mask = this.#mask
    const stride = this.#stride
    const slots = this.#slots
    let reusable = -1
    for (let i = hi & mask; ; i = (i + 1) & mask) {
      const at = i * stride
      const slotLo = slots[at + LO]
      const slotHi = slots[at + HI]
      if (slotLo === lo && slotHi === hi) {
        // An expired mark is gone, as in Redis: its old "before" must not carry over.
        const live = slots[at + EXPIRES] > now
        if (stride === 4) slots[at + BEFORE] = live ? Math.max(slots[at + BEFORE], before) : before
        slots[at + EXPIRES] = live ? Math.max(slots[at + EXPIRES], expiresAt) : expiresAt
        return
      }
      if (slotLo === 0 && slotHi === 0) {
        if (reusable === -1) { reusable = i; this.#used++ }
        this.#set(reusable * stride, hi, lo, before, expiresAt)
        return
      }
      if (reusable === -1 && slots[at + EXPIRES] <= now) reusable = i
    }
  }

  #rebuild (now: number, factor: number): void {
    const old = this.#slots
    const stride = this.#stride
    const size = Math.max(16, (this.#mask + 1) * factor)
    // Dropped before the new array is filled: a full load's growth holds one old table at most.
    this.#slots = new Uint32Array(size * stride)
    this.#mask = size - 1
    this.#used = 0
    const slots = this.#slots
    for (let j = 0; j < old.length; j += stride) {
      if (old[j + EXPIRES] <= now) continue
      let i = old[j + HI] & this.#mask
      while (slots[i * stride + LO] !== 0 || slots[i * stride + HI] !== 0) i = (i + 1) & this.#mask
      this.#set(i * stride, old[j + HI], old[j + LO], stride === 4 ? old[j + BEFORE] : 0, old[j + EXPIRES])
      this.#used++
    }
  }

  #set (at: number, hi: number, lo: number, before: number, expiresAt: number): void {
    const slots = this.#slots
    slots[at + HI] = hi
    slots[at + LO] = lo
    slots[at + EXPIRES] = expiresAt
    if (this.#stride === 4) slots[at + BEFORE] = before
  }
}
