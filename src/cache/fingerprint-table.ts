import { randomBytes } from 'node:crypto'

const WAYS = 4
const STRIDE = 4
const HI = 0
const LO = 1
const VALUE = 2
const STORED_AT = 3

/**
 * Per-token state that outlives a request, in one fixed typed array: a 64-bit
 * fingerprint of the key, a 32-bit value and the second it was stored, 16
 * bytes a slot, no object per key and no allocation after construction (as the
 * revocation state's mark table). Set-associative: a key's fingerprint picks a
 * bucket of four slots; a store takes the key's own slot, else an empty or
 * expired one, else the bucket's oldest. So at most `max` keys are held, none
 * is served `ttlMs` or more after it was stored (time kept in whole seconds,
 * rounded so that an entry ends early, never late), and a flood of new keys
 * only pushes out the oldest ones.
 *
 * Fingerprints are keyed with a per-process random seed: nobody can craft keys
 * that collide. A collision (n / 2^64 per look-up with n keys held) makes one
 * key read another's value; callers keep only state where that costs little.
 */
export class FingerprintTable {
  readonly #slots: Uint32Array
  readonly #buckets: number
  readonly #ttlS: number
  readonly #now: () => number
  readonly #seed1: number
  readonly #seed2: number
  #h1 = 0
  #h2 = 0

  /** `now` in milliseconds. */
  constructor (max: number, ttlMs: number, now: () => number = () => performance.now()) {
    this.#buckets = Math.max(1, Math.floor(max / WAYS))
    this.#slots = new Uint32Array(this.#buckets * WAYS * STRIDE)
    this.#ttlS = Math.max(1, Math.ceil(ttlMs / 1000))
    this.#now = now
    const seed = new Uint32Array(randomBytes(8).buffer)
    this.#seed1 = seed[0]
    this.#seed2 = seed[1]
  }

  /** Keys held and not expired (a scan: for metrics and tests, not the request path). */
  get size (): number {
    const now = this.#seconds()
    const slots = this.#slots
    let live = 0
    for (let at = 0; at < slots.length; at += STRIDE) if (slots[at + LO] !== 0 && now - slots[at + STORED_AT] < this.#ttlS) live++
    return live
  }

  /** Bytes held by the slot array (fixed at construction). */
  get bytes (): number { return this.#slots.byteLength }

  /** The value stored for `key`, or -1 when it is absent or expired. */
  get (key: string): number {
    this.#hash(key)
    const at = this.#find()
    if (at === -1 || this.#seconds() - this.#slots[at + STORED_AT] >= this.#ttlS) return -1
    return this.#slots[at + VALUE]
  }

  /** Stores `value` (a uint32) for `key`; its lifetime starts now. */
  set (key: string, value: number): void {
    this.#hash(key)
    const now = this.#seconds()
    const slots = this.#slots
    let at = this.#find()
    if (at === -1) {
      const first = (this.#h1 % this.#buckets) * WAYS * STRIDE
      at = first
      for (let way = first; way < first + WAYS * STRIDE; way += STRIDE) {
        if (slots[way + LO] === 0 || now - slots[way + STORED_AT] >= this.#ttlS) { at = way; break }
        if (slots[way + STORED_AT] < slots[at + STORED_AT]) at = way
      }
      slots[at + HI] = this.#h1
      slots[at + LO] = this.#h2
    }
    slots[at + VALUE] = value
    slots[at + STORED_AT] = now
  }

  clear (): void {
    this.#slots.fill(0)
  }

  /** A 32-bit fingerprint of `text` under this table's seed (for values such as an address). */
  fingerprint (text: string): number {
    this.#hash(text)
    return this.#h1
  }

  #seconds (): number {
    return Math.floor(this.#now() / 1000)
  }

  #find (): number {
    const slots = this.#slots
    const first = (this.#h1 % this.#buckets) * WAYS * STRIDE
    for (let at = first; at < first + WAYS * STRIDE; at += STRIDE) {
      if (slots[at + LO] === this.#h2 && slots[at + HI] === this.#h1) return at
    }
    return -1
  }

  // Two 32-bit multiply-xorshift lanes (cyrb53's mixing, both halves kept), seeded per process.
  #hash (key: string): void {
    let h1 = 0xdeadbeef ^ this.#seed1
    let h2 = 0x41c6ce57 ^ this.#seed2
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 2654435761)
      h2 = Math.imul(h2 ^ c, 1597334677)
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
    this.#h1 = h1 >>> 0
    // A zero low half marks an empty slot.
    this.#h2 = (h2 >>> 0) || 1
  }
}
