import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { request } from 'undici'
import type { IssuerConfig, JwtConfig } from './options.js'
import { algorithmsForKey, type Algorithm } from './algorithms.js'
import { buildKeyVerifier, type KeyVerifier } from './key-verifier.js'
import { readCapped } from './read-capped.js'
import type { Tracing } from '../tracing/tracing.js'

const MAX_JWKS_BYTES = 512 * 1024
const STALE_AFTER_MS = 10 * 60_000
const PUBLIC_MEMBERS = ['kty', 'crv', 'n', 'e', 'x', 'y']

/** Only the public members: a JWKS that leaks private parameters must not make us hold them. */
function publicMembers (jwk: Record<string, unknown>): JsonWebKey {
  return Object.fromEntries(PUBLIC_MEMBERS.filter((name) => jwk[name] !== undefined).map((name) => [name, jwk[name]]))
}

/** One issuer's key set as the metrics see it. */
export interface JwksStats {
  readonly issuer: string
  readonly keys: number
  /** Fetches that replaced the keys, and fetches that failed (the keys were kept). */
  readonly fetched: number
  readonly failed: number
  /** -Infinity before the first success. */
  readonly lastSuccessMs: number
}

interface SkippedKey { readonly kid: string | null, readonly why: string }

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

/**
 * A published signing key as it is, with every algorithm of its family (its `alg` when it names
 * one): for tokens of this issuer verified by other rules than its access tokens (logout tokens).
 */
export interface PublishedKey { readonly kid: string | null, readonly pem: string, readonly algorithms: readonly Algorithm[] }

interface Parsed { verifiers: KeyVerifier[], published: PublishedKey[], fingerprints: Set<string>, skipped: SkippedKey[] }

export interface JwksOptions {
  /** Milliseconds clock; tests inject one to step through cooldowns without sleeping. */
  readonly now?: () => number
  /** OTEL_*: a span per fetch (a child of the decision that waits for it); undefined when tracing is off. */
  readonly tracing?: Tracing
  /** Why a key may not verify (SECURITY_PROFILE=fapi2: fapi2-keys.ts), or null: held to it at every fetch. */
  readonly keyProblem?: (key: KeyObject) => string | null
}

/**
 * A remote JWKS: fetched once at start, refreshed when a token names an unknown
 * kid (at most once per cooldown, one fetch shared by all waiting requests) and
 * in the background when older than ten minutes.
 */
export class JwksKeySet {
  readonly #url: URL
  readonly #jwt: JwtConfig
  readonly #entry: IssuerConfig
  readonly #log: Logger
  #verifiers: readonly KeyVerifier[] = []
  #published: readonly PublishedKey[] = []
  #fingerprints: ReadonlySet<string> = new Set()
  #generation = 0
  #inFlight: Promise<boolean> | null = null
  #lastAttempt = -Infinity
  #lastSuccess = -Infinity
  #fetches = { ok: 0, failed: 0 }
  readonly #now: () => number
  readonly #tracing: Tracing | undefined
  readonly #keyProblem: (key: KeyObject) => string | null

  /** The keys of `entry`, one of jwt.issuers: they verify its tokens only, with its algorithms. */
  constructor (url: Readonly<URL>, jwt: JwtConfig, entry: IssuerConfig, log: Logger, { now = Date.now, tracing, keyProblem = () => null }: JwksOptions = {}) {
    this.#keyProblem = keyProblem
    this.#url = new URL(url.href)
    this.#jwt = jwt
    this.#entry = entry
    this.#log = log
    this.#now = now
    this.#tracing = tracing
  }

  /** The JWKS URL (href): a reload keeps this key set while its issuer's URL stays the same. */
  get url (): string {
    return this.#url.href
  }

  get size (): number {
    return this.#verifiers.length
  }

  /** What the JWKS metrics read at scrape time. */
  get stats (): JwksStats {
    return { issuer: this.#entry.issuer ?? '', keys: this.#verifiers.length, fetched: this.#fetches.ok, failed: this.#fetches.failed, lastSuccessMs: this.#lastSuccess }
  }

  /** Whether a fetch ever succeeded: readiness waits for it, and later outages keep the keys. */
  get loadedOnce (): boolean {
    return this.#lastSuccess !== -Infinity
  }

  /** Bumped whenever a key disappears from the set: tokens it verified must be checked again. */
  get generation (): number {
    return this.#generation
  }

  /**
   * Keys that may verify a token with this kid and alg. Without a kid, only a
   * set with exactly one key for the alg is tried, as panva/jose does
   * (JWKSMultipleMatchingKeys): trying every key costs a signature check each.
   */
  candidates (kid: string | null, alg: string): readonly KeyVerifier[] {
    if (this.#now() - this.#lastSuccess > STALE_AFTER_MS) this.refresh().catch(() => {}) // background; failures are logged
    if (kid !== null) return this.#verifiers.filter((v) => v.kid === kid && v.algorithms.includes(alg as never))
    const matching = this.#verifiers.filter((v) => v.algorithms.includes(alg as never))
    return matching.length === 1 ? matching : []
  }

  /** How many keys take this alg (a token without kid is refused when more than one do). */
  matching (alg: string): number {
    return this.#verifiers.filter((v) => v.algorithms.includes(alg as never)).length
  }

  /** Published keys for this kid and alg, chosen as `candidates` chooses verifiers. */
  published (kid: string | null, alg: string): readonly PublishedKey[] {
    if (this.#now() - this.#lastSuccess > STALE_AFTER_MS) this.refresh().catch(() => {})
    if (kid !== null) return this.#published.filter((k) => k.kid === kid && k.algorithms.includes(alg as never))
    const matching = this.#published.filter((k) => k.algorithms.includes(alg as never))
    return matching.length === 1 ? matching : []
  }

  hasPublishedKid (kid: string): boolean {
    return this.#published.some((k) => k.kid === kid)
  }

  hasKid (kid: string): boolean {
    return this.#verifiers.some((v) => v.kid === kid)
  }

  /** Resolves true when a fetch completed; false when cooling down or failed. */
  refresh (): Promise<boolean> {
    if (this.#inFlight !== null) return this.#inFlight
    if (this.#now() - this.#lastAttempt < this.#jwt.jwksCooldownMs) return Promise.resolve(false)
    this.#lastAttempt = this.#now()
    this.#inFlight = this.#fetch().finally(() => { this.#inFlight = null })
    return this.#inFlight
  }

  async #fetch (): Promise<boolean> {
    const span = this.#tracing?.child('tokengate.jwks.fetch', { 'tokengate.issuer': this.#entry.issuer ?? '', 'url.full': this.#url.origin + this.#url.pathname }, true)
    try {
      const res = await request(this.#url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#jwt.jwksTimeoutMs)
      })
      if (res.statusCode !== 200) {
        await res.body.dump()
        throw new Error(`status ${res.statusCode}`)
      }
      const { verifiers, published, fingerprints, skipped } = this.#parse(JSON.parse(await readCapped(res.body, MAX_JWKS_BYTES, 'JWKS document')))
      // Never silently: an operator whose IdP moved to a new algorithm name must see why its keys do not count.
      if (skipped.length > 0) this.#log.warn({ issuer: this.#entry.issuer, skipped }, 'JWKS keys skipped')
      // An empty set (a half-configured provider, a captive portal) would refuse every token.
      if (verifiers.length === 0) throw new Error('JWKS document holds no usable key')
      if ([...this.#fingerprints].some((fingerprint) => !fingerprints.has(fingerprint))) this.#generation++
      this.#verifiers = verifiers
      this.#published = published
      this.#fingerprints = fingerprints
      this.#lastSuccess = this.#now()
      this.#fetches.ok++
      this.#log.info({ issuer: this.#entry.issuer, keys: verifiers.length }, 'JWKS loaded')
      span?.set('tokengate.jwks.keys', verifiers.length)
      return true
    } catch (err) {
      span?.fail((err as Error).message)
      this.#fetches.failed++
      this.#log.warn({ err: (err as Error).message, issuer: this.#entry.issuer, url: this.#url.origin + this.#url.pathname }, 'JWKS fetch failed; keeping the previous keys')
      return false
    } finally {
      span?.end()
    }
  }

  #parse (doc: unknown): Parsed {
    const keys = (doc as { keys?: unknown } | null)?.keys
    if (!Array.isArray(keys)) throw new Error('JWKS document has no keys array')
    const out: KeyVerifier[] = []
    const published: PublishedKey[] = []
    const fingerprints = new Set<string>()
    const skipped: SkippedKey[] = []
    for (const jwk of keys as Array<Record<string, unknown>>) {
      if (jwk === null || typeof jwk !== 'object' || (jwk.use !== undefined && jwk.use !== 'sig')) continue
      const named = typeof jwk.kid === 'string' ? jwk.kid.slice(0, 64) : null
      if (jwk.kty === 'oct') { // a symmetric key has no place in a public key set
        skipped.push({ kid: named, why: 'symmetric key' })
        continue
      }
      try {
        const key = createPublicKey({ key: publicMembers(jwk), format: 'jwk' })
        const problem = this.#keyProblem(key)
        if (problem !== null) {
          skipped.push({ kid: named, why: problem })
          continue
        }
        const family = algorithmsForKey(key).filter((alg) => typeof jwk.alg !== 'string' || alg === jwk.alg)
        const pem = key.export({ type: 'spki', format: 'pem' }).toString()
        const kid = typeof jwk.kid === 'string' ? jwk.kid : null
        if (family.length > 0) published.push({ kid, pem, algorithms: family })
        const algorithms = family.filter((alg) => this.#entry.algorithms.includes(alg))
        if (algorithms.length === 0) {
          skipped.push({ kid: named, why: `alg ${typeof jwk.alg === 'string' ? jwk.alg.slice(0, 16) : '(none)'} on a ${key.asymmetricKeyType ?? 'unknown'} key is not among the issuer's algorithms (JWT_ALGORITHMS, or its JWT_ISSUERS entry's)` })
          continue
        }
        out.push(buildKeyVerifier(pem, algorithms, kid, this.#jwt, this.#entry))
        fingerprints.add(`${kid ?? ''}|${algorithms.join()}|${pem}`)
      } catch {
        skipped.push({ kid: named, why: 'not a usable public key' })
        continue
      }
    }
    return { verifiers: out, published, fingerprints, skipped }
  }
}
