import { randomBytes } from 'node:crypto'

/**
 * 64-bit fingerprints of strings (or of their ASCII bytes), keyed with a
 * per-process random seed, so that nobody can craft keys that collide on a
 * replica. Two 32-bit multiply-xorshift lanes (cyrb53's mixing, both halves
 * kept). The result is left in `hi` and `lo` rather than returned, so that a
 * look-up allocates nothing; `lo` is never 0, which the tables use to mark an
 * empty slot. `tag` separates namespaces within one table (kinds of marks);
 * `scope` (an issuer) is hashed first, then its length past any char code,
 * so that (scope, text) pairs never run into each other; an empty scope
 * hashes as no scope at all.
 */
export class Fingerprinter {
  hi = 0
  lo = 0
  readonly #seed1: number
  readonly #seed2: number
  // The state after the last non-empty scope: a look-up hashes its issuer once, not once per kind.
  #scope = ''
  #scope1 = 0
  #scope2 = 0

  constructor (seed: Uint32Array = new Uint32Array(randomBytes(8).buffer)) {
    this.#seed1 = seed[0]
    this.#seed2 = seed[1]
  }

  of (tag: number, scope: string, text: string): void {
    this.#start(scope)
    let h1 = (this.hi ^ tag) | 0
    let h2 = (this.lo ^ tag) | 0
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 2654435761)
      h2 = Math.imul(h2 ^ c, 1597334677)
    }
    this.#finish(h1, h2)
  }

  /** The same fingerprint as of() for an ASCII string given as its bytes (byte i is charCodeAt(i)). */
  ofAscii (tag: number, scope: string, bytes: Uint8Array, start: number, end: number): void {
    this.#start(scope)
    let h1 = (this.hi ^ tag) | 0
    let h2 = (this.lo ^ tag) | 0
    for (let i = start; i < end; i++) {
      const c = bytes[i]
      h1 = Math.imul(h1 ^ c, 2654435761)
      h2 = Math.imul(h2 ^ c, 1597334677)
    }
    this.#finish(h1, h2)
  }

  // The running state after the scope, left in hi and lo (not yet finished).
  #start (scope: string): void {
    if (scope === '') {
      this.hi = 0xdeadbeef ^ this.#seed1
      this.lo = 0x41c6ce57 ^ this.#seed2
      return
    }
    if (scope !== this.#scope) {
      let h1 = (0xdeadbeef ^ this.#seed1) | 0
      let h2 = (0x41c6ce57 ^ this.#seed2) | 0
      for (let i = 0; i < scope.length; i++) {
        const c = scope.charCodeAt(i)
        h1 = Math.imul(h1 ^ c, 2654435761)
        h2 = Math.imul(h2 ^ c, 1597334677)
      }
      this.#scope = scope
      this.#scope1 = Math.imul(h1 ^ (0x10000 + scope.length), 2654435761)
      this.#scope2 = Math.imul(h2 ^ (0x10000 + scope.length), 1597334677)
    }
    this.hi = this.#scope1
    this.lo = this.#scope2
  }

  #finish (h1: number, h2: number): void {
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
    this.hi = h1 >>> 0
    this.lo = (h2 >>> 0) || 1
  }
}
