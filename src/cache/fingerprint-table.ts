import { Fingerprinter } from './fingerprint.js'

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
  readonly #fingerprint = new Fingerprinter()

  /** `now` in milliseconds. */
  constructor (max: number, ttlMs: number, now: () => number = () => performance.now()) {
    this.#buckets = Math.max(1, Math.floor(max / WAYS))
    this.#slots = new Uint32Array(this.#buckets * WAYS * STRIDE)
    this.#ttlS = Math.max(1, Math.ceil(ttlMs / 1000))
    this.#now = now
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

  /** The value stored for `key` (within `scope`, an issuer), or -1 when it is absent or expired. */
  get (key: string, scope = ''): number {
    this.#fingerprint.of(0, scope, key)
    const at = this.#find()
    if (at === -1 || this.#seconds() - this.#slots[at + STORED_AT] >= this.#ttlS) return -1
    return this.#slots[at + VALUE]
  }

  /** Stores `value` (a uint32) for `key` (within `scope`); its lifetime starts now. */
  set (key: string, value: number, scope = ''): void {
    this.#fingerprint.of(0, scope, key)
    const now = this.#seconds()
    const slots = this.#slots
    let at = this.#find()
    if (at === -1) {
      const first = (this.#fingerprint.hi % this.#buckets) * WAYS * STRIDE
      at = first
      for (let way = first; way < first + WAYS * STRIDE; way += STRIDE) {
        if (slots[way + LO] === 0 || now - slots[way + STORED_AT] >= this.#ttlS) { at = way; break }
        if (slots[way + STORED_AT] < slots[at + STORED_AT]) at = way
      }
      slots[at + HI] = this.#fingerprint.hi
      slots[at + LO] = this.#fingerprint.lo
    }
    slots[at + VALUE] = value
    slots[at + STORED_AT] = now
  }

  clear (): void {
    this.#slots.fill(0)
  }

  /** A 32-bit fingerprint of `text` under this table's seed (for values such as an address). */
  fingerprint (text: string): number {
    this.#fingerprint.of(0, '', text)
    return this.#fingerprint.hi
  }

  #seconds (): number {
    return Math.floor(this.#now() / 1000)
  }

  #find (): number {
    const slots = this.#slots
    const first = (this.#fingerprint.hi % this.#buckets) * WAYS * STRIDE
    for (let at = first; at < first + WAYS * STRIDE; at += STRIDE) {
      if (slots[at + LO] === this.#fingerprint.lo && slots[at + HI] === this.#fingerprint.hi) return at
    }
    return -1
  }
}
