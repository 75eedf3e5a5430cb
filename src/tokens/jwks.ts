import { createPublicKey, type JsonWebKey } from 'node:crypto'
import { request } from 'undici'
import type { Algorithm, JwtConfig } from '../config/types.js'
import { algorithmsForKey } from './algorithms.js'
import { buildKeyVerifier, type KeyVerifier } from './key-verifier.js'

const MAX_JWKS_BYTES = 512 * 1024
const STALE_AFTER_MS = 10 * 60_000
const PUBLIC_MEMBERS = ['kty', 'crv', 'n', 'e', 'x', 'y']

/** Only the public members: a JWKS that leaks private parameters must not make us hold them. */
function publicMembers (jwk: Record<string, unknown>): JsonWebKey {
  return Object.fromEntries(PUBLIC_MEMBERS.filter((name) => jwk[name] !== undefined).map((name) => [name, jwk[name]]))
}

/** The body as text, refusing to buffer more than MAX_JWKS_BYTES. */
async function readCapped (body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  // Leaving the loop early (the throw) destroys the stream: nothing more is buffered.
  for await (const chunk of body) {
    size += chunk.length
    if (size > MAX_JWKS_BYTES) throw new Error('JWKS document too large')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

export interface JwksOptions {
  /** Milliseconds clock; tests inject one to step through cooldowns without sleeping. */
  readonly now?: () => number
}

/**
 * A remote JWKS: fetched once at start, refreshed when a token names an unknown
 * kid (at most once per cooldown, one fetch shared by all waiting requests) and
 * in the background when older than ten minutes.
 */
export class JwksKeySet {
  readonly #url: URL
  readonly #jwt: JwtConfig
  readonly #log: Logger
  #verifiers: readonly KeyVerifier[] = []
  #fingerprints: ReadonlySet<string> = new Set()
  #generation = 0
  #inFlight: Promise<boolean> | null = null
  #lastAttempt = -Infinity
  #lastSuccess = -Infinity
  readonly #now: () => number

  constructor (url: Readonly<URL>, jwt: JwtConfig, log: Logger, { now = Date.now }: JwksOptions = {}) {
    this.#url = new URL(url.href)
    this.#jwt = jwt
    this.#log = log
    this.#now = now
  }

  get size (): number {
    return this.#verifiers.length
  }

  /** Bumped whenever a key disappears from the set: tokens it verified must be checked again. */
  get generation (): number {
    return this.#generation
  }

  /** Keys that may verify a token with this kid (all keys when it has none). */
  candidates (kid: string | null): readonly KeyVerifier[] {
    if (this.#now() - this.#lastSuccess > STALE_AFTER_MS) this.refresh().catch(() => {}) // background; failures are logged
    if (kid === null) return this.#verifiers
    return this.#verifiers.filter((v) => v.kid === kid)
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
    try {
      const res = await request(this.#url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#jwt.jwksTimeoutMs)
      })
      if (res.statusCode !== 200) {
        await res.body.dump()
        throw new Error(`status ${res.statusCode}`)
      }
      const { verifiers, fingerprints } = this.#parse(JSON.parse(await readCapped(res.body)))
      // An empty set (a half-configured provider, a captive portal) would refuse every token.
      if (verifiers.length === 0) throw new Error('JWKS document holds no usable key')
      if ([...this.#fingerprints].some((fingerprint) => !fingerprints.has(fingerprint))) this.#generation++
      this.#verifiers = verifiers
      this.#fingerprints = fingerprints
      this.#lastSuccess = this.#now()
      this.#log.info({ keys: verifiers.length }, 'JWKS loaded')
      return true
    } catch (err) {
      this.#log.warn({ err: (err as Error).message, url: this.#url.origin + this.#url.pathname }, 'JWKS fetch failed; keeping the previous keys')
      return false
    }
  }

  #parse (doc: unknown): { verifiers: KeyVerifier[], fingerprints: Set<string> } {
    const keys = (doc as { keys?: unknown } | null)?.keys
    if (!Array.isArray(keys)) throw new Error('JWKS document has no keys array')
    const out: KeyVerifier[] = []
    const fingerprints = new Set<string>()
    for (const jwk of keys as Array<Record<string, unknown>>) {
      if (jwk === null || typeof jwk !== 'object' || (jwk.use !== undefined && jwk.use !== 'sig')) continue
      if (jwk.kty === 'oct') continue // a symmetric key has no place in a public key set
      try {
        const key = createPublicKey({ key: publicMembers(jwk), format: 'jwk' })
        let algorithms: Algorithm[] = algorithmsForKey(key).filter((alg) => this.#jwt.algorithms.includes(alg))
        if (typeof jwk.alg === 'string') algorithms = algorithms.filter((alg) => alg === jwk.alg)
        if (algorithms.length === 0) continue
        const pem = key.export({ type: 'spki', format: 'pem' }).toString()
        const kid = typeof jwk.kid === 'string' ? jwk.kid : null
        out.push(buildKeyVerifier(pem, algorithms, kid, this.#jwt))
        fingerprints.add(`${kid ?? ''}|${algorithms.join()}|${pem}`)
      } catch {
        continue
      }
    }
    return { verifiers: out, fingerprints }
  }
}
