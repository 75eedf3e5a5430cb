import { LRUCache } from 'lru-cache'
import { FingerprintTable } from '../cache/fingerprint-table.js'
import type { Claims } from './claims.js'

const MAX_KEY_LENGTH = 2048
// How long a first verification is remembered, waiting for the token's second use.
const ADMIT_WINDOW_MS = 60_000
// jtis remembered per cache entry: 16 bytes each, in one typed array.
const ADMIT_PER_ENTRY = 4

/**
 * Tokens whose signature and claims already verified, keyed by the exact token
 * string (V8 hashes it natively; fast-jwt's own cache hashes every token with
 * SHA-256, which cost as much as the HMAC it saved). An entry is served only
 * inside the token's own validity window; revocation is never cached here.
 * The lifetime rule (key-verifier.ts) needs no second look: `exp - iat` never
 * changes and `exp - now` only shrinks, so a token that passed it still does.
 *
 * A token is admitted on its second verification within a minute (a
 * fingerprint of its jti remembered from the first, fingerprint-table.ts): a stream of tokens that are each used once (a
 * flood, a scan) would otherwise push ~600 bytes per token through the cache,
 * which V8 promotes to its old space and collects only much later. A reused
 * token pays one extra signature check.
 */
export class VerifiedTokenCache {
  readonly #entries: LRUCache<string, Claims>
  readonly #seenOnce: FingerprintTable
  readonly #toleranceS: number

  constructor (size: number, toleranceS: number) {
    this.#entries = new LRUCache({ max: Math.max(1, size) })
    this.#seenOnce = new FingerprintTable(Math.max(1, size) * ADMIT_PER_ENTRY, ADMIT_WINDOW_MS)
    this.#toleranceS = toleranceS
  }

  get size (): number {
    return this.#entries.size
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

  clear (): void {
    this.#entries.clear()
    this.#seenOnce.clear()
  }

  set (token: string, claims: Claims): void {
    if (token.length > MAX_KEY_LENGTH) return
    if (this.#seenOnce.get(claims.jti) === -1) {
      this.#seenOnce.set(claims.jti, 1)
      return
    }
    this.#entries.set(token, claims)
  }
}
