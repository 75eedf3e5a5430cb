import { createPublicKey, type JsonWebKey } from 'node:crypto'
import { createVerifier } from 'fast-jwt'
import { algorithmsForKey, type AsymmetricAlgorithm } from '../tokens/algorithms.js'
import { isJsonObject, requestJson } from './http.js'

const PUBLIC_MEMBERS = ['kty', 'crv', 'n', 'e', 'x', 'y']

/** What a SET's signature check needs of its transmitter. */
export interface SetKeyRules {
  readonly issuer: string
  readonly audiences: readonly string[]
  readonly algorithms: readonly AsymmetricAlgorithm[]
  readonly clockToleranceS: number
  /** At most one refetch per this long, however many unknown kids arrive (JWKS_COOLDOWN_S). */
  readonly cooldownMs: number
}

/** One key and the fast-jwt verifier built once for it; `verify` throws fast-jwt's errors. */
export interface SetKey {
  readonly kid: string | null
  readonly algorithms: readonly AsymmetricAlgorithm[]
  readonly verify: (token: string) => Record<string, unknown>
}

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

/**
 * Builds a key's verifier: the SET must name the transmitter exactly (RFC 8417 §2.2 iss), one of
 * its audiences, and carry jti and iat (RFC 8417 §2.2). `exp` is checked when present.
 */
function setKey (pem: string, algorithms: readonly AsymmetricAlgorithm[], kid: string | null, rules: SetKeyRules): SetKey {
  const ed25519Only = algorithms.includes('Ed25519') && !algorithms.includes('EdDSA')
  const verify = createVerifier({
    key: pem,
    algorithms: [...algorithms.filter((alg) => alg !== 'Ed25519'), ...(algorithms.includes('Ed25519') ? ['EdDSA' as const] : [])] as Array<Exclude<AsymmetricAlgorithm, 'Ed25519'>>,
    requiredClaims: ['iss', 'aud', 'jti', 'iat', 'events'],
    allowedIss: rules.issuer,
    allowedAud: rules.audiences.length === 1 ? rules.audiences[0] : [...rules.audiences],
    clockTolerance: rules.clockToleranceS * 1000,
    cache: false
  })
  return { kid, algorithms: ed25519Only ? ['Ed25519'] : algorithms, verify }
}

/**
 * A transmitter's JWKS: fetched at start, refetched when a SET names an unknown kid (at most once
 * per JWKS_COOLDOWN_S, one fetch shared by every waiting SET). Only asymmetric keys of the configured
 * algorithms count; each key verifies only the algorithms of its own family.
 */
export class TransmitterKeys {
  readonly #url: URL | null
  readonly #rules: SetKeyRules
  readonly #timeoutMs: number
  readonly #log: Logger
  #keys: readonly SetKey[] = []
  #inFlight: Promise<boolean> | null = null
  #lastAttempt = -Infinity

  /** `url` null: the transmitter's JWKS is unknown (its metadata could not be read); it verifies nothing. */
  constructor (url: Readonly<URL> | null, rules: SetKeyRules, timeoutMs: number, log: Logger) {
    this.#url = url === null ? null : new URL(url.href)
    this.#rules = rules
    this.#timeoutMs = timeoutMs
    this.#log = log
  }

  get size (): number {
    return this.#keys.length
  }

  /** Keys that may verify a SET with this kid and alg; without a kid, every key of the alg. */
  candidates (kid: string | null, alg: string): readonly SetKey[] {
    return this.#keys.filter((key) => (kid === null || key.kid === kid) && key.algorithms.includes(alg as AsymmetricAlgorithm))
  }

  hasKid (kid: string): boolean {
    return this.#keys.some((key) => key.kid === kid)
  }

  /** Resolves true when a fetch completed; false when cooling down or failed (logged). */
  refresh (): Promise<boolean> {
    if (this.#url === null) return Promise.resolve(false)
    if (this.#inFlight !== null) return this.#inFlight
    if (Date.now() - this.#lastAttempt < this.#rules.cooldownMs) return Promise.resolve(false)
    this.#lastAttempt = Date.now()
    this.#inFlight = this.#fetch().finally(() => { this.#inFlight = null })
    return this.#inFlight
  }

  async #fetch (): Promise<boolean> {
    const url = this.#url
    if (url === null) return false
    try {
      const { status, body } = await requestJson(url, { timeoutMs: this.#timeoutMs })
      if (status !== 200) throw new Error(`status ${status}`)
      const keys = isJsonObject(body) && Array.isArray(body.keys) ? body.keys : null
      if (keys === null) throw new Error('JWKS document has no keys array')
      const parsed = keys.flatMap((jwk: unknown) => this.#parse(jwk))
      if (parsed.length === 0) throw new Error('JWKS document holds no usable key')
      this.#keys = parsed
      this.#log.info({ transmitter: this.#rules.issuer, keys: parsed.length }, 'SSF transmitter JWKS loaded')
      return true
    } catch (err) {
      this.#log.warn({ err: (err as Error).message, transmitter: this.#rules.issuer, url: url.origin + url.pathname }, 'SSF transmitter JWKS fetch failed; keeping the previous keys')
      return false
    }
  }

  #parse (jwk: unknown): SetKey[] {
    if (!isJsonObject(jwk) || (jwk.use !== undefined && jwk.use !== 'sig') || jwk.kty === 'oct') return []
    try {
      const key = createPublicKey({ key: Object.fromEntries(PUBLIC_MEMBERS.filter((name) => jwk[name] !== undefined).map((name) => [name, jwk[name]])) as JsonWebKey, format: 'jwk' })
      let algorithms = algorithmsForKey(key).filter((alg): alg is AsymmetricAlgorithm => (this.#rules.algorithms as readonly string[]).includes(alg))
      if (typeof jwk.alg === 'string') algorithms = algorithms.filter((alg) => alg === jwk.alg)
      if (algorithms.length === 0) return []
      const pem = key.export({ type: 'spki', format: 'pem' }).toString()
      return [setKey(pem, algorithms, typeof jwk.kid === 'string' ? jwk.kid : null, this.#rules)]
    } catch {
      return []
    }
  }
}
