import { LRUCache } from 'lru-cache'
import type { Claims } from './claims.js'

const MAX_KEY_LENGTH = 2048

/**
 * Tokens whose signature and claims already verified, keyed by the exact token
 * string (V8 hashes it natively; fast-jwt's own cache hashes every token with
 * SHA-256, which cost as much as the HMAC it saved). An entry is served only
 * inside the token's own validity window; revocation is never cached here.
 */
export class VerifiedTokenCache {
  readonly #entries: LRUCache<string, Claims>
  readonly #toleranceS: number

  constructor (size: number, toleranceS: number) {
    this.#entries = new LRUCache({ max: Math.max(1, size) })
    this.#toleranceS = toleranceS
  }

  get (token: string): Claims | undefined {
    const claims = this.#entries.get(token)
    if (claims === undefined) return undefined
    const now = Date.now() / 1000
    if (now > claims.exp + this.#toleranceS || (claims.nbf !== undefined && now < claims.nbf - this.#toleranceS)) {
      this.#entries.delete(token)
      return undefined
    }
    return claims
  }

  get size (): number {
    return this.#entries.size
  }

  clear (): void {
    this.#entries.clear()
  }

  set (token: string, claims: Claims): void {
    if (token.length <= MAX_KEY_LENGTH) this.#entries.set(token, claims)
  }
}
