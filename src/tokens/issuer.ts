import { randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { Algorithm } from './algorithms.js'
import type { SigningKeyConfig } from './options.js'

export interface MintOptions {
  readonly sub: string
  readonly ttlS: number
  readonly refresh?: boolean
  readonly sid?: string
  /** Latest `exp` the token may carry (the session's absolute end): the lifetime is cut to it. */
  readonly notAfter?: number
  /** Custom claims copied into the token (registered claims below always win). */
  readonly claims?: Readonly<Record<string, unknown>>
}

export interface MintedToken {
  readonly token: string
  readonly jti: string
  readonly iat: number
  readonly exp: number
}

export interface TokenIssuer {
  readonly algorithm: string
  mint: (options: MintOptions) => MintedToken
}

// Registered claims a copied token must not inherit from the one it replaces.
const RESET_CLAIMS = new Set(['jti', 'iat', 'nbf', 'exp', 'token_type'])

/**
 * `accessTyp` (JWT_REQUIRED_TYP) goes into the header of the access tokens
 * tokengate issues, so that they pass its own check; refresh tokens keep `JWT`.
 * `now`: a milliseconds clock; tests inject one to walk a session through days without sleeping.
 */
export function createIssuer (signing: SigningKeyConfig, issuer: string | null, audience: string | readonly string[] | null, accessTyp: string | null = null, now: () => number = Date.now): TokenIssuer {
  const signer = (typ: string | null): ((payload: Record<string, unknown>) => string) => createSigner({
    key: signing.key,
    // readSigningKey never chooses Ed25519 (canSign): fast-jwt signs Ed25519 keys as EdDSA.
    algorithm: signing.algorithm as Exclude<Algorithm, 'Ed25519'>,
    ...(signing.kid !== null && { kid: signing.kid }),
    ...(typ !== null && { header: { alg: signing.algorithm, typ } })
  })
  const signRefresh = signer(null)
  const signAccess = accessTyp === null ? signRefresh : signer(accessTyp)
  return {
    algorithm: signing.algorithm,
    mint ({ sub, ttlS, refresh = false, sid, notAfter = Infinity, claims = {} }) {
      const iat = Math.floor(now() / 1000)
      const jti = randomUUID()
      const exp = Math.min(iat + ttlS, notAfter)
      // Claim names come from the token being replaced: a "__proto__" claim must stay a claim.
      const payload: Record<string, unknown> = Object.create(null)
      for (const [name, value] of Object.entries(claims)) if (!RESET_CLAIMS.has(name)) payload[name] = value
      Object.assign(payload, {
        sub,
        jti,
        iat,
        nbf: iat,
        exp,
        ...(sid !== undefined && { sid }),
        ...(issuer !== null && payload.iss === undefined && { iss: issuer }),
        ...(audience !== null && payload.aud === undefined && { aud: audience }),
        ...(refresh && { token_type: 'refresh' })
      })
      return { token: (refresh ? signRefresh : signAccess)(payload), jti, iat, exp }
    }
  }
}
