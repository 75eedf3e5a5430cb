import { createVerifier } from 'fast-jwt'
import { Failures, withDescription, type Failure } from '../errors.js'
import type { AsymmetricAlgorithm } from '../tokens/algorithms.js'
import { refusedAfterSignature } from '../tokens/failures.js'
import { mediaType, peekHeader, peekIssuer } from '../tokens/header.js'
import type { JwksKeySet, PublishedKey } from '../tokens/jwks.js'

/** Back-Channel Logout 1.0 §2.4: the member of `events` that makes a JWT a logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** An issuer that may send logout tokens, with what verifies them. */
export interface LogoutIssuer {
  readonly issuer: string
  /** §2.6 step 4: the token's aud must contain one of these. */
  readonly clientIds: readonly string[]
  /** §2.6 step 3: its ID-token algorithms (never none, never HS*). */
  readonly algorithms: readonly AsymmetricAlgorithm[]
  readonly relayUri: Readonly<URL> | null
  /** Its published keys: the same key set, cache and cooldown as its access tokens'. */
  readonly keys: JwksKeySet
}

export interface LogoutTokenRules {
  readonly clockToleranceS: number
  /** BACKCHANNEL_LOGOUT_MAX_AGE: an older iat is refused (its jti may have left the replay cache). */
  readonly maxAgeS: number
  readonly maxTokenBytes: number
  readonly now?: () => number
}

export interface LogoutClaims {
  readonly iss: string
  readonly jti: string
  readonly exp: number
  readonly sid: string | null
  readonly sub: string | null
}

export type LogoutVerdict =
  | { readonly ok: true, readonly issuer: LogoutIssuer, readonly claims: LogoutClaims }
  /** `issuer`: the configured issuer the token named (its refusal raises an alert), null for none. */
  | { readonly ok: false, readonly issuer: LogoutIssuer | null, readonly failure: Failure }

type Verify = (token: string) => unknown

const MAX_VERIFIERS = 64

function refuse (issuer: LogoutIssuer | null, failure: Failure, description?: string): LogoutVerdict {
  return { ok: false, issuer, failure: description === undefined ? failure : withDescription(failure, description) }
}

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

function nonEmpty (value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}

/**
 * Validates a logout token as Back-Channel Logout 1.0 §2.6 asks, step by step, each step
 * refusing with its own registry entry (the answer is 400 in every case, §2.8). The replay
 * check (step 8) is the caller's: it needs the shared replay cache.
 */
export function createLogoutTokenVerifier (issuers: readonly LogoutIssuer[], rules: LogoutTokenRules): (token: string) => Promise<LogoutVerdict> {
  const byIss = new Map(issuers.map((entry) => [entry.issuer, entry]))
  const now = rules.now ?? Date.now
  // One fast-jwt verifier per key and algorithm, built on first use; signature only: the claims are checked below, one rule at a time.
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

  async function keysFor (issuer: LogoutIssuer, kid: string | null, alg: string): Promise<readonly PublishedKey[]> {
    const keys = issuer.keys.published(kid, alg)
    if (keys.length > 0 || kid === null || issuer.keys.hasPublishedKid(kid)) return keys
    // A key the issuer rotated in since the last fetch (one fetch per cooldown, shared with access tokens).
    await issuer.keys.refresh()
    return issuer.keys.published(kid, alg)
  }

  function payloadVerifiedBy (keys: readonly PublishedKey[], alg: AsymmetricAlgorithm, token: string): Record<string, unknown> | null {
    for (const key of keys) {
      try {
        const payload: unknown = verifierOf(key, alg)(token)
        return isObject(payload) ? payload : null
      } catch (err) {
        // Signed by this key, refused for a claim's type (exp as a string): the claim rules below say why.
        if (refusedAfterSignature(err)) return payloadOf(token)
        // Otherwise another key with the same kid may still verify it.
      }
    }
    return null
  }

  function checkClaims (issuer: LogoutIssuer, payload: Record<string, unknown>, typ: string | null): LogoutVerdict {
    const nowS = now() / 1000
    const tolerance = rules.clockToleranceS
    // §2.6 step 4: iss, aud, iat and exp as for ID tokens (OIDC Core §3.1.3.7), exp required (§2.4).
    if (payload.iss !== issuer.issuer) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token\'s iss is not its issuer')
    const aud = payload.aud
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
    if (!audiences.some((value) => typeof value === 'string' && issuer.clientIds.includes(value))) {
      return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token\'s aud names none of the client ids configured for its issuer')
    }
    const { iat, exp } = payload
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token has no iat')
    if (iat > nowS + tolerance) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token was issued in the future (iat)')
    if (iat < nowS - rules.maxAgeS - tolerance) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token was issued too long ago (iat older than BACKCHANNEL_LOGOUT_MAX_AGE)')
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token has no exp')
    if (exp <= nowS - tolerance) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token has expired (exp)')
    // §2.4: jti REQUIRED; step 8 (replay) needs it.
    if (!nonEmpty(payload.jti)) return refuse(issuer, Failures.LOGOUT_TOKEN_CLAIMS, 'The logout token has no jti')
    // §2.6 step 5: sub, sid, or both.
    const { sid, sub } = payload
    if (sid !== undefined && !nonEmpty(sid)) return refuse(issuer, Failures.LOGOUT_TOKEN_SUBJECT, 'The logout token\'s sid is not a string')
    if (sub !== undefined && !nonEmpty(sub)) return refuse(issuer, Failures.LOGOUT_TOKEN_SUBJECT, 'The logout token\'s sub is not a string')
    if (sid === undefined && sub === undefined) return refuse(issuer, Failures.LOGOUT_TOKEN_SUBJECT)
    // §2.6 step 6: events holds the back-channel logout member, a JSON object (§2.4).
    const events = payload.events
    if (!isObject(events) || !isObject(events[BACKCHANNEL_LOGOUT_EVENT])) return refuse(issuer, Failures.LOGOUT_TOKEN_EVENT)
    // §2.6 step 7: no nonce (a logout token is never an ID token, and the other way round).
    if (Object.hasOwn(payload, 'nonce')) return refuse(issuer, Failures.LOGOUT_TOKEN_NONCE)
    // §2.4 (explicit typing, RFC 8725 §3.11): when typ is present it must say logout+jwt.
    if (typ !== null && mediaType(typ) !== 'logout+jwt') return refuse(issuer, Failures.LOGOUT_TOKEN_TYP)
    return {
      ok: true,
      issuer,
      claims: { iss: issuer.issuer, jti: payload.jti, exp, sid: typeof sid === 'string' ? sid : null, sub: typeof sub === 'string' ? sub : null }
    }
  }

  return async (token) => {
    if (Buffer.byteLength(token) > rules.maxTokenBytes) return refuse(null, Failures.LOGOUT_TOKEN_MALFORMED, 'The logout token is larger than MAX_TOKEN_BYTES')
    const parts = token.split('.').length
    // §2.6 step 1 allows encrypted logout tokens; tokengate holds no decryption key, so it refuses them plainly.
    if (parts === 5) return refuse(null, Failures.LOGOUT_TOKEN_MALFORMED, 'Encrypted logout tokens are not accepted; the provider must send a signed one')
    const header = parts === 3 ? peekHeader(token) : null
    const iss = header === null ? undefined : peekIssuer(token)
    if (header === null || iss === undefined) return refuse(null, Failures.LOGOUT_TOKEN_MALFORMED)
    const issuer = iss === null ? undefined : byIss.get(iss)
    if (issuer === undefined) return refuse(null, Failures.LOGOUT_TOKEN_ISSUER)
    // §2.6 steps 2-3: the issuer's keys, one of its ID-token algorithms; never none, never a MAC.
    const alg = issuer.algorithms.find((candidate) => candidate === header.alg)
    if (alg === undefined) return refuse(issuer, Failures.LOGOUT_TOKEN_SIGNATURE, 'The logout token\'s alg is not one of its issuer\'s ID-token algorithms')
    const keys = await keysFor(issuer, header.kid, alg)
    if (keys.length === 0) return refuse(issuer, Failures.LOGOUT_TOKEN_SIGNATURE, 'The logout token names no published key of its issuer')
    const payload = payloadVerifiedBy(keys, alg, token)
    if (payload === null) return refuse(issuer, Failures.LOGOUT_TOKEN_SIGNATURE)
    return checkClaims(issuer, payload, header.typ)
  }
}
