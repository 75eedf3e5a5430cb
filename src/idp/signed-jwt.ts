import { createVerifier } from 'fast-jwt'
import type { AsymmetricAlgorithm } from '../tokens/algorithms.js'
import { refusedAfterSignature } from '../tokens/failures.js'
import { peekHeader, peekIssuer, type TokenHeader } from '../tokens/header.js'
import type { PublishedKey } from '../tokens/jwks.js'

/** Where an issuer's published keys come from: a JwksKeySet (an issuer's), or a Shared Signals transmitter's keys. */
export interface PublishedKeySource {
  published: (kid: string | null, alg: string) => readonly PublishedKey[]
  hasPublishedKid: (kid: string) => boolean
  /** Keys held: none yet (an issuer unreachable at start) is a reason to fetch, whatever the kid. */
  readonly size: number
  /** Refetches (at most once per cooldown); true when a fetch completed. */
  refresh: () => Promise<boolean>
}

/** An identity provider whose own JWTs (logout tokens, revocation requests, SETs) are verified with its published keys. */
export interface SigningIssuer {
  readonly issuer: string
  /** Its ID-token algorithms: asymmetric only, never none, never a MAC. */
  readonly algorithms: readonly AsymmetricAlgorithm[]
  /** Its published keys: the same key set, cache and cooldown as its access tokens'. */
  readonly keys: PublishedKeySource
}

/**
 * What stopped a JWT before its claims were read: `malformed` (not a signed JWT, an encrypted
 * one, too large), `issuer` (names none of `issuers`), `algorithm` (not one of its algorithms),
 * `key` (no published key for its kid and alg), `signature` (no key verified it).
 */
export type SignatureProblem = 'malformed' | 'encrypted' | 'too_large' | 'issuer' | 'algorithm' | 'key' | 'signature'

export type SignedJwt<I extends SigningIssuer> =
  | { readonly ok: true, readonly issuer: I, readonly header: TokenHeader, readonly payload: Record<string, unknown> }
  /** `issuer`: the configured issuer it named (a refusal in its name), null for none. */
  | { readonly ok: false, readonly issuer: I | null, readonly problem: SignatureProblem }

type Verify = (token: string) => unknown

const MAX_VERIFIERS = 64

function isObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** The payload of a token whose signature was verified. */
function payloadOf (token: string): Record<string, unknown> | null {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
    return isObject(payload) ? payload : null
  } catch {
    return null
  }
}

/**
 * Verifies the signature of a JWT an identity provider signed itself, with the keys of the
 * issuer its `iss` names and one of that issuer's algorithms: the part every IdP message shares.
 * Its claims are the caller's to check, one rule at a time.
 */
export function createSignedJwtVerifier<I extends SigningIssuer> (issuers: readonly I[], maxTokenBytes: number): (token: string) => Promise<SignedJwt<I>> {
  const byIss = new Map(issuers.map((entry) => [entry.issuer, entry]))
  // One fast-jwt verifier per key and algorithm, built on first use; signature only (no claim checks).
  const verifiers = new Map<string, Verify>()
  const verifierOf = (key: PublishedKey, alg: AsymmetricAlgorithm): Verify => {
    const id = `${alg}\n${key.pem}`
    let verify = verifiers.get(id)
    if (verify === undefined) {
      if (verifiers.size >= MAX_VERIFIERS) verifiers.clear()
      const algorithm = (alg === 'Ed25519' ? 'EdDSA' : alg) as Exclude<AsymmetricAlgorithm, 'Ed25519'>
      verify = createVerifier({ key: key.pem, algorithms: [algorithm], ignoreExpiration: true, ignoreNotBefore: true, cache: false })
      verifiers.set(id, verify)
    }
    return verify
  }

  async function keysFor (issuer: I, kid: string | null, alg: string): Promise<readonly PublishedKey[]> {
    const keys = issuer.keys.published(kid, alg)
    const held = issuer.keys.size > 0
    if (keys.length > 0 || (held && (kid === null || issuer.keys.hasPublishedKid(kid)))) return keys
    // A key the issuer rotated in since the last fetch, or no key yet (one fetch per cooldown, shared with access tokens).
    await issuer.keys.refresh()
    return issuer.keys.published(kid, alg)
  }

  function payloadVerifiedBy (keys: readonly PublishedKey[], alg: AsymmetricAlgorithm, token: string): Record<string, unknown> | null {
    for (const key of keys) {
      try {
        const payload: unknown = verifierOf(key, alg)(token)
        return isObject(payload) ? payload : null
      } catch (err) {
        // Signed by this key, refused for a claim's type (exp as a string): the caller's claim rules say why.
        if (refusedAfterSignature(err)) return payloadOf(token)
        // Otherwise another key with the same kid may still verify it.
      }
    }
    return null
  }

  return async (token) => {
    if (Buffer.byteLength(token) > maxTokenBytes) return { ok: false, issuer: null, problem: 'too_large' }
    const parts = token.split('.').length
    if (parts === 5) return { ok: false, issuer: null, problem: 'encrypted' }
    const header = parts === 3 ? peekHeader(token) : null
    const iss = header === null ? undefined : peekIssuer(token)
    if (header === null || iss === undefined) return { ok: false, issuer: null, problem: 'malformed' }
    const issuer = iss === null ? undefined : byIss.get(iss)
    if (issuer === undefined) return { ok: false, issuer: null, problem: 'issuer' }
    const alg = issuer.algorithms.find((candidate) => candidate === header.alg)
    if (alg === undefined) return { ok: false, issuer, problem: 'algorithm' }
    const keys = await keysFor(issuer, header.kid, alg)
    if (keys.length === 0) return { ok: false, issuer, problem: 'key' }
    const payload = payloadVerifiedBy(keys, alg, token)
    if (payload === null) return { ok: false, issuer, problem: 'signature' }
    return { ok: true, issuer, header, payload }
  }
}
