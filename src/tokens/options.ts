/** What the token verifier, JWKS key set and issuer are built from; `src/config/jwt.ts` maps JWT_* onto it. */
import type { Algorithm } from './algorithms.js'
import type { RolesClaim } from './claims.js'

export interface PublicKeyConfig {
  /** Key id matched against the token header's `kid`; null when the file gave none. */
  readonly kid: string | null
  readonly pem: string
  readonly source: string
}

export interface SigningKeyConfig {
  readonly algorithm: Algorithm
  /** HMAC secret or private key PEM. */
  readonly key: string
  readonly kid: string | null
}

export interface JwtConfig {
  readonly algorithms: readonly Algorithm[]
  readonly secret: string | null
  readonly previousSecret: string | null
  readonly publicKeys: readonly PublicKeyConfig[]
  readonly jwksUrl: Readonly<URL> | null
  readonly jwksCooldownMs: number
  readonly jwksTimeoutMs: number
  readonly signing: SigningKeyConfig | null
  readonly issuer: string | null
  readonly audience: string | null
  readonly clockToleranceS: number
  /** JWT_MAX_TOKEN_LIFETIME: the longest `exp - iat` (and `exp - now`, plus tolerance) accepted; sizes every mark. */
  readonly maxTokenLifetimeS: number
  readonly maxTokenBytes: number
  /** Entries in the signature-verification cache (0 disables it). */
  readonly verifyCacheSize: number
  /** JWT_REQUIRED_TYP lower-cased without `application/` (RFC 7515 §4.1.9); null accepts any typ. */
  readonly requiredTyp: string | null
  /** ROLES_CLAIM: where roles are read (access rules and ADMIN_ROLE alike). */
  readonly rolesClaim: RolesClaim
  /** True when the key is an ephemeral development secret. */
  readonly ephemeral: boolean
}
