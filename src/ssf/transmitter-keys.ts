import { createPublicKey, type JsonWebKey } from 'node:crypto'
import type { PublishedKeySource } from '../idp/signed-jwt.js'
import { algorithmsForKey, type AsymmetricAlgorithm } from '../tokens/algorithms.js'
import type { PublishedKey } from '../tokens/jwks.js'
import { isJsonObject, requestJson } from './http.js'

const PUBLIC_MEMBERS = ['kty', 'crv', 'n', 'e', 'x', 'y']

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

export interface TransmitterKeyOptions {
  readonly transmitter: string
  /** The transmitter's algorithms: a key counts only for those of its own family among them. */
  readonly algorithms: readonly AsymmetricAlgorithm[]
  /** At most one refetch per this long, however many unknown kids arrive (JWKS_COOLDOWN_S). */
  readonly cooldownMs: number
  readonly timeoutMs: number
}

/**
 * A Shared Signals transmitter's JWKS: fetched at start, refetched when a SET names an unknown kid
 * (at most once per JWKS_COOLDOWN_S, one fetch shared by every waiting SET). Only public members
 * of asymmetric keys are kept; the signature itself is checked in src/idp/signed-jwt.ts, as for
 * every JWT an identity provider signs.
 */
export class TransmitterKeys implements PublishedKeySource {
  #url: URL | null
  readonly #locate: (() => Promise<URL | null>) | null
  readonly #options: TransmitterKeyOptions
  readonly #log: Logger
  #keys: readonly PublishedKey[] = []
  #inFlight: Promise<boolean> | null = null
  #lastAttempt = -Infinity

  /**
   * `url` null: the transmitter's JWKS is not known yet (its metadata could not be read at start);
   * `locate` reads it again, on a refresh, within the same cooldown, so a transmitter that was
   * unreachable at start verifies SETs once it answers, without a restart.
   */
  constructor (url: Readonly<URL> | null, options: TransmitterKeyOptions, log: Logger, locate: (() => Promise<URL | null>) | null = null) {
    this.#url = url === null ? null : new URL(url.href)
    this.#locate = locate
    this.#options = options
    this.#log = log
  }

  get size (): number {
    return this.#keys.length
  }

  /** Keys for this kid and alg; without a kid, only when exactly one key takes the alg (as JwksKeySet). */
  published (kid: string | null, alg: string): readonly PublishedKey[] {
    const matching = this.#keys.filter((key) => key.algorithms.includes(alg as AsymmetricAlgorithm))
    if (kid !== null) return matching.filter((key) => key.kid === kid)
    return matching.length === 1 ? matching : []
  }

  hasPublishedKid (kid: string): boolean {
    return this.#keys.some((key) => key.kid === kid)
  }

  refresh (): Promise<boolean> {
    if (this.#url === null && this.#locate === null) return Promise.resolve(false)
    if (this.#inFlight !== null) return this.#inFlight
    if (Date.now() - this.#lastAttempt < this.#options.cooldownMs) return Promise.resolve(false)
    this.#lastAttempt = Date.now()
    this.#inFlight = this.#located().then(async (url) => url === null ? false : await this.#fetch(url)).finally(() => { this.#inFlight = null })
    return this.#inFlight
  }

  async #located (): Promise<URL | null> {
    if (this.#url === null && this.#locate !== null) this.#url = await this.#locate()
    return this.#url
  }

  async #fetch (url: URL): Promise<boolean> {
    try {
      const { status, body } = await requestJson(url, { timeoutMs: this.#options.timeoutMs })
      if (status !== 200) throw new Error(`status ${status}`)
      const keys = isJsonObject(body) && Array.isArray(body.keys) ? body.keys : null
      if (keys === null) throw new Error('JWKS document has no keys array')
      const parsed = keys.flatMap((jwk: unknown) => this.#parse(jwk))
      if (parsed.length === 0) throw new Error('JWKS document holds no usable key')
      this.#keys = parsed
      this.#log.info({ transmitter: this.#options.transmitter, keys: parsed.length }, 'SSF transmitter JWKS loaded')
      return true
    } catch (err) {
      this.#log.warn({ err: (err as Error).message, transmitter: this.#options.transmitter, url: url.origin + url.pathname }, 'SSF transmitter JWKS fetch failed; keeping the previous keys')
      return false
    }
  }

  #parse (jwk: unknown): PublishedKey[] {
    if (!isJsonObject(jwk) || (jwk.use !== undefined && jwk.use !== 'sig') || jwk.kty === 'oct') return []
    try {
      const key = createPublicKey({ key: Object.fromEntries(PUBLIC_MEMBERS.filter((name) => jwk[name] !== undefined).map((name) => [name, jwk[name]])) as JsonWebKey, format: 'jwk' })
      let algorithms = algorithmsForKey(key).filter((alg): alg is AsymmetricAlgorithm => (this.#options.algorithms as readonly string[]).includes(alg))
      if (typeof jwk.alg === 'string') algorithms = algorithms.filter((alg) => alg === jwk.alg)
      if (algorithms.length === 0) return []
      return [{ kid: typeof jwk.kid === 'string' ? jwk.kid : null, pem: key.export({ type: 'spki', format: 'pem' }).toString(), algorithms }]
    } catch {
      return []
    }
  }
}
