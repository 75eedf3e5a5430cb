/** What the token verifier, JWKS key set and issuer are built from; `src/config/jwt.ts` maps JWT_* onto it. */
import type { Algorithm, AsymmetricAlgorithm } from './algorithms.js'
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

/** OpenID Connect Back-Channel Logout from one issuer (its JWT_ISSUERS entry's `backchannel_logout`). */
export interface BackchannelLogoutConfig {
  /** A logout token's `aud` must contain one of these (the RP's client ids at the provider). */
  readonly clientIds: readonly string[]
  /** The application's own back-channel logout URI: validated logout tokens are relayed there; null for none. */
  readonly relayUri: Readonly<URL> | null
  /** Its ID-token (and logout-token) algorithms; null: the metadata's id_token_signing_alg_values_supported, else RS256. */
  readonly algorithms: readonly AsymmetricAlgorithm[] | null
}

/** Global Token Revocation requests from one issuer (its JWT_ISSUERS entry's `global_token_revocation`). */
export interface GlobalRevocationConfig {
  /** The `aud` of its requests' bearer JWTs: the endpoint's URL, never an audience of access tokens. */
  readonly audience: string
  /** Algorithms of those JWTs; null: its ID-token algorithms (metadata), else RS256. */
  readonly algorithms: readonly AsymmetricAlgorithm[] | null
  /** The issuers whose users it may revoke (an `iss_sub` subject's iss); itself by default. */
  readonly revokes: readonly string[]
  /** Tokens of those issuers carry the user's email as `sub`: an `email` subject maps onto it. */
  readonly emailIsSubject: boolean
}

/**
 * One trusted issuer (JWT_ISSUERS entry, or the single-issuer variables mapped to a list of
 * one). Claim names are per issuer because identity providers differ (`sid` in Keycloak and
 * Auth0, none in Cognito).
 */
export interface IssuerConfig {
  /** The exact `iss` (a trailing `/` is part of it); null only for the single-issuer variables without JWT_ISSUER (iss unchecked). */
  readonly issuer: string | null
  /** Its JWKS (jwks_uri, JWKS_URL); null when discovered at start-up, or when only configured keys verify it. */
  readonly jwksUrl: Readonly<URL> | null
  /** Its metadata (OIDC Discovery or RFC 8414), read at start-up for its jwks_uri; null without discovery. */
  readonly discoveryUrl: Readonly<URL> | null
  /** Its tokens must carry one of these in `aud`; empty: aud unchecked (single issuer without JWT_AUDIENCE). */
  readonly audiences: readonly string[]
  readonly algorithms: readonly Algorithm[]
  readonly rolesClaim: RolesClaim
  /** The claim naming a token's session; null for an issuer without sessions. */
  readonly sessionClaim: string | null
  /** The claim naming each token (revocation id); null: none, the id is base64url(SHA-256(token)). */
  readonly jtiClaim: string | null
  /** Whether its tokens may hold ADMIN_ROLE (default false in JWT_ISSUERS; true for the single-issuer variables). */
  readonly grantsAdmin: boolean
  /** Logout tokens it may send to {AUTH_PREFIX}/backchannel-logout; null: none accepted from it. */
  readonly backchannelLogout: BackchannelLogoutConfig | null
  /** Global Token Revocation requests it may send to {AUTH_PREFIX}/global-token-revocation; null: none. */
  readonly globalTokenRevocation: GlobalRevocationConfig | null
}

export interface JwtConfig {
  /** JWT_ALGORITHMS, with every JWT_ISSUERS entry's: what the static keys and the signing key may use. */
  readonly algorithms: readonly Algorithm[]
  readonly secret: string | null
  readonly previousSecret: string | null
  readonly publicKeys: readonly PublicKeyConfig[]
  readonly jwksCooldownMs: number
  readonly jwksTimeoutMs: number
  readonly signing: SigningKeyConfig | null
  /** The `iss` of the tokens tokengate mints: the first issuer's, whose entry its own keys verify. */
  readonly issuer: string | null
  /** The `aud` of the tokens tokengate mints: the first issuer's audience, or its list. */
  readonly audience: string | readonly string[] | null
  readonly clockToleranceS: number
  /** JWT_MAX_TOKEN_LIFETIME: the longest `exp - iat` (and `exp - now`, plus tolerance) accepted; sizes every mark. */
  readonly maxTokenLifetimeS: number
  readonly maxTokenBytes: number
  /** Entries in the signature-verification cache (0 disables it). */
  readonly verifyCacheSize: number
  /** JWT_REQUIRED_TYP lower-cased without `application/` (RFC 7515 §4.1.9); null accepts any typ. */
  readonly requiredTyp: string | null
  /**
   * Every trusted issuer: JWT_ISSUERS, or the single-issuer variables as a list of one. Each has
   * its own keys, audiences, algorithms and claim names; the static keys above (JWT_SECRET,
   * JWT_PUBLIC_KEYS) verify the first one's tokens, as tokengate's own.
   */
  readonly issuers: readonly IssuerConfig[]
  /** NODE_ENV=development: JWT_ISSUERS URLs and discovered jwks_uri may be http:. */
  readonly allowHttpKeys: boolean
  /** True when the key is an ephemeral development secret. */
  readonly ephemeral: boolean
}
