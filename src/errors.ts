// Every refusal tokengate can answer with, in one registry. A Failure is a
// frozen value, not an Error: the hot path returns it instead of throwing, so
// an expected 401 costs no stack capture.

export type OAuthErrorName =
  | 'invalid_request'
  | 'invalid_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'insufficient_scope'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'temporarily_unavailable'
  | 'rate_limited'
  | 'not_found'
  | 'bad_gateway'
  | 'gateway_timeout'
  | 'server_error'

export interface Failure {
  readonly code: string
  readonly status: number
  readonly error: OAuthErrorName
  readonly description: string
  /** Bounded label for metrics and logs. */
  readonly reason: string
}

function failure (code: string, status: number, error: OAuthErrorName, reason: string, description: string): Failure {
  return Object.freeze({ code, status, error, reason, description })
}

export const Failures = Object.freeze({
  TOKEN_MISSING: failure('TG_ERR_TOKEN_MISSING', 401, 'invalid_token', 'missing', 'A bearer token is required'),
  HEADER_MALFORMED: failure('TG_ERR_HEADER_MALFORMED', 400, 'invalid_request', 'malformed_header', 'The Authorization header must be "Bearer <token>"'),
  TOKEN_TOO_LARGE: failure('TG_ERR_TOKEN_TOO_LARGE', 400, 'invalid_request', 'too_large', 'The bearer token is too large'),
  TOKEN_MALFORMED: failure('TG_ERR_TOKEN_MALFORMED', 401, 'invalid_token', 'malformed', 'The token is not a well-formed JWT'),
  TOKEN_SIGNATURE: failure('TG_ERR_TOKEN_SIGNATURE', 401, 'invalid_token', 'bad_signature', 'The token signature is invalid'),
  TOKEN_ALGORITHM: failure('TG_ERR_TOKEN_ALGORITHM', 401, 'invalid_token', 'bad_algorithm', 'The token algorithm is not accepted'),
  TOKEN_KEY_UNKNOWN: failure('TG_ERR_TOKEN_KEY_UNKNOWN', 401, 'invalid_token', 'unknown_key', 'The token was signed with an unknown key'),
  TOKEN_ISSUER: failure('TG_ERR_TOKEN_ISSUER', 401, 'invalid_token', 'unknown_issuer', 'The token names no trusted issuer (iss)'),
  TOKEN_EXPIRED: failure('TG_ERR_TOKEN_EXPIRED', 401, 'invalid_token', 'expired', 'The token has expired'),
  TOKEN_NOT_YET_VALID: failure('TG_ERR_TOKEN_NOT_YET_VALID', 401, 'invalid_token', 'not_yet_valid', 'The token is not valid yet'),
  TOKEN_CLAIMS: failure('TG_ERR_TOKEN_CLAIMS', 401, 'invalid_token', 'bad_claims', 'The token is missing a required claim or has an unexpected issuer or audience'),
  TOKEN_LIFETIME: failure('TG_ERR_TOKEN_LIFETIME', 401, 'invalid_token', 'lifetime_too_long', 'The token lives longer than this gateway accepts'),
  TOKEN_WRONG_TYPE: failure('TG_ERR_TOKEN_WRONG_TYPE', 401, 'invalid_token', 'wrong_type', 'A refresh token cannot be used here'),
  TOKEN_NOT_REFRESH: failure('TG_ERR_TOKEN_NOT_REFRESH', 401, 'invalid_token', 'wrong_type', 'Only a refresh token is accepted here'),
  TOKEN_TYP: failure('TG_ERR_TOKEN_TYP', 401, 'invalid_token', 'wrong_typ', 'The token type (typ header) is not accepted as an access token'),
  TOKEN_EVENT: failure('TG_ERR_TOKEN_EVENT', 401, 'invalid_token', 'event_token', 'The token is a logout or security event token (events claim, typ logout+jwt or secevent+jwt), never an access token'),
  TOKEN_KID_REQUIRED: failure('TG_ERR_TOKEN_KID_REQUIRED', 401, 'invalid_token', 'kid_required', 'The token names no key (kid) and several published keys could have signed it'),
  TOKEN_REVOKED: failure('TG_ERR_TOKEN_REVOKED', 401, 'invalid_token', 'revoked', 'The token has been revoked'),
  DPOP_PROOF_MISSING: failure('TG_ERR_DPOP_PROOF_MISSING', 401, 'invalid_dpop_proof', 'dpop_proof_missing', 'A DPoP-bound token needs one DPoP proof header (RFC 9449 §7.1)'),
  DPOP_PROOF_INVALID: failure('TG_ERR_DPOP_PROOF_INVALID', 401, 'invalid_dpop_proof', 'dpop_proof_invalid', 'The DPoP proof is not a well-formed dpop+jwt signed with an accepted asymmetric algorithm by the public key in its jwk header (RFC 9449 §4.3)'),
  DPOP_PROOF_TARGET: failure('TG_ERR_DPOP_PROOF_TARGET', 401, 'invalid_dpop_proof', 'dpop_proof_target', 'The DPoP proof was made for another method or URI (htm, htu)'),
  DPOP_PROOF_STALE: failure('TG_ERR_DPOP_PROOF_STALE', 401, 'invalid_dpop_proof', 'dpop_proof_stale', 'The DPoP proof was issued outside the accepted time window (iat)'),
  DPOP_PROOF_ATH: failure('TG_ERR_DPOP_PROOF_ATH', 401, 'invalid_dpop_proof', 'dpop_proof_ath', 'The DPoP proof does not carry the hash of this access token (ath)'),
  DPOP_KEY_MISMATCH: failure('TG_ERR_DPOP_KEY_MISMATCH', 401, 'invalid_dpop_proof', 'dpop_key_mismatch', 'The DPoP proof is signed by another key than the one the token is bound to (cnf.jkt)'),
  DPOP_PROOF_REPLAYED: failure('TG_ERR_DPOP_PROOF_REPLAYED', 401, 'invalid_dpop_proof', 'dpop_proof_replayed', 'This DPoP proof (its jti) was already used'),
  DPOP_NONCE_REQUIRED: failure('TG_ERR_DPOP_NONCE_REQUIRED', 401, 'use_dpop_nonce', 'dpop_nonce', 'The DPoP proof must carry the nonce of the DPoP-Nonce header (RFC 9449 §9)'),
  DPOP_BOUND_AS_BEARER: failure('TG_ERR_DPOP_BOUND_AS_BEARER', 401, 'invalid_token', 'dpop_bound_as_bearer', 'The token is DPoP-bound: send it with the DPoP scheme and a proof (RFC 9449 §7.2)'),
  DPOP_TOKEN_UNBOUND: failure('TG_ERR_DPOP_TOKEN_UNBOUND', 401, 'invalid_token', 'dpop_token_unbound', 'A DPoP proof or the DPoP scheme came with a token that is not DPoP-bound (no cnf.jkt)'),
  DPOP_TARGET_UNKNOWN: failure('TG_ERR_DPOP_TARGET_UNKNOWN', 400, 'invalid_request', 'dpop_target_unknown', 'The request URI a DPoP proof is checked against is not known: a trusted proxy must send the original method and URI'),
  DPOP_REPLAY_UNAVAILABLE: failure('TG_ERR_DPOP_REPLAY_UNAVAILABLE', 503, 'temporarily_unavailable', 'dpop_replay_unavailable', 'Whether this DPoP proof was used before cannot be checked now; retry shortly'),
  CERTIFICATE_MISSING: failure('TG_ERR_CERTIFICATE_MISSING', 401, 'invalid_token', 'certificate_missing', 'The token is bound to a client certificate (cnf x5t#S256, RFC 8705) and the request presented none'),
  CERTIFICATE_MISMATCH: failure('TG_ERR_CERTIFICATE_MISMATCH', 401, 'invalid_token', 'certificate_mismatch', 'The token is bound to another client certificate than the one presented (cnf x5t#S256, RFC 8705 §3)'),
  CLIENT_CERT_MALFORMED: failure('TG_ERR_CLIENT_CERT_MALFORMED', 400, 'invalid_request', 'certificate_malformed', 'The client certificate passed by the trusted proxy is malformed'),
  TOKEN_NOT_SENDER_CONSTRAINED: failure('TG_ERR_TOKEN_NOT_SENDER_CONSTRAINED', 401, 'invalid_token', 'not_sender_constrained', 'Only sender-constrained tokens are accepted here (SECURITY_PROFILE=fapi2): the token carries no cnf jkt (DPoP) or x5t#S256 (certificate)'),
  INSUFFICIENT_SCOPE: failure('TG_ERR_INSUFFICIENT_SCOPE', 403, 'insufficient_scope', 'insufficient_scope', 'The token does not grant access to this resource'),
  FORBIDDEN: failure('TG_ERR_FORBIDDEN', 403, 'insufficient_scope', 'forbidden', 'The token does not allow this operation'),
  PATH_AMBIGUOUS: failure('TG_ERR_PATH_AMBIGUOUS', 400, 'invalid_request', 'ambiguous_path', 'The request path cannot be decoded without ambiguity (dot segments, encoded separators or dots, path parameters, control characters, double encoding or invalid escapes)'),
  PATH_UNICODE: failure('TG_ERR_PATH_UNICODE', 400, 'invalid_request', 'ambiguous_unicode', 'The request path is not in Unicode NFC, or holds a character that case mapping or compatibility normalisation turns into ASCII'),
  PATH_NOT_NORMAL: failure('TG_ERR_PATH_NOT_NORMAL', 400, 'invalid_request', 'path_not_normal', 'The original URI repeats "/": servers route it differently, and the proxy forwards it as sent'),
  HEADER_AMBIGUOUS: failure('TG_ERR_HEADER_AMBIGUOUS', 400, 'invalid_request', 'ambiguous_header', 'The request carries a method or URL override header, or an identity or forwarding header spelled with underscores'),
  METHOD_OVERRIDE: failure('TG_ERR_METHOD_OVERRIDE', 400, 'invalid_request', 'method_override', 'The query string carries a method override parameter (_method); the upstream could act on another method than the one decided'),
  ORIGINAL_URI_MISSING: failure('TG_ERR_ORIGINAL_URI_MISSING', 400, 'invalid_request', 'original_uri_missing', 'The trusted proxy sent no original URI (X-Original-URI or X-Forwarded-Uri), which public paths and access rules need'),
  ORIGINAL_CONFLICT: failure('TG_ERR_ORIGINAL_CONFLICT', 400, 'invalid_request', 'bad_request', 'The original request is ambiguous: repeated or conflicting X-Forwarded-Uri/X-Original-URI/-Method headers, or a URI that is not a path'),
  BAD_REQUEST: failure('TG_ERR_BAD_REQUEST', 400, 'invalid_request', 'bad_request', 'The request is malformed'),
  HTTP_MALFORMED: failure('TG_ERR_HTTP_MALFORMED', 400, 'invalid_request', 'malformed_http', 'The request is not valid HTTP'),
  REQUEST_TIMEOUT: failure('TG_ERR_REQUEST_TIMEOUT', 408, 'invalid_request', 'request_timeout', 'The request was not received in time'),
  HEADERS_TOO_LARGE: failure('TG_ERR_HEADERS_TOO_LARGE', 431, 'invalid_request', 'headers_too_large', 'The request headers are too large'),
  BODY_TOO_LARGE: failure('TG_ERR_BODY_TOO_LARGE', 413, 'invalid_request', 'body_too_large', 'The request body is too large'),
  MEDIA_TYPE_UNSUPPORTED: failure('TG_ERR_MEDIA_TYPE_UNSUPPORTED', 415, 'invalid_request', 'unsupported_media_type', 'Unsupported content type'),
  CLIENT_AUTH_MULTIPLE: failure('TG_ERR_CLIENT_AUTH_MULTIPLE', 400, 'invalid_request', 'multiple_client_auth', 'Use one client authentication method: HTTP Basic or client_secret in the body, not both'),
  TOKEN_NOT_CLIENTS: failure('TG_ERR_TOKEN_NOT_CLIENTS', 400, 'unauthorized_client', 'not_clients_token', 'The token was not issued to this client'),
  CLIENT_UNAUTHORIZED: failure('TG_ERR_CLIENT_UNAUTHORIZED', 401, 'invalid_client', 'invalid_client', 'Client authentication failed'),
  STORE_UNAVAILABLE: failure('TG_ERR_STORE_UNAVAILABLE', 503, 'temporarily_unavailable', 'store_unavailable', 'The revocation store is unavailable; retry shortly'),
  SHUTTING_DOWN: failure('TG_ERR_SHUTTING_DOWN', 503, 'temporarily_unavailable', 'shutting_down', 'This gateway instance is shutting down; retry'),
  RATE_LIMITED: failure('TG_ERR_RATE_LIMITED', 429, 'rate_limited', 'rate_limited', 'Too many requests; retry after the time in Retry-After'),
  REASON_REQUIRED: failure('TG_ERR_REASON_REQUIRED', 400, 'invalid_request', 'reason_required', 'A non-empty "reason" is required for every administrative revocation'),
  ISSUER_REQUIRED: failure('TG_ERR_ISSUER_REQUIRED', 400, 'invalid_request', 'issuer_required', 'Several issuers are trusted: name the issuer ("iss"), or "all_issuers": true for revoke-all'),
  ISSUER_UNKNOWN: failure('TG_ERR_ISSUER_UNKNOWN', 400, 'invalid_request', 'issuer_unknown', 'The "iss" named is not a trusted issuer'),
  ISSUER_CONFLICT: failure('TG_ERR_ISSUER_CONFLICT', 400, 'invalid_request', 'issuer_conflict', 'Name one issuer ("iss") or "all_issuers": true, not both'),
  TOKEN_NOT_OWNED: failure('TG_ERR_TOKEN_NOT_OWNED', 403, 'insufficient_scope', 'not_owner', 'The token belongs to another user'),
  TOKEN_PARAM_INVALID: failure('TG_ERR_TOKEN_PARAM_INVALID', 400, 'invalid_request', 'invalid_token_param', 'The token in the request body is not a valid token'),
  NOT_FOUND: failure('TG_ERR_NOT_FOUND', 404, 'not_found', 'not_found', 'No such route'),
  UPSTREAM_UNAVAILABLE: failure('TG_ERR_UPSTREAM_UNAVAILABLE', 502, 'bad_gateway', 'upstream_unavailable', 'The upstream service could not be reached'),
  UPSTREAM_BUSY: failure('TG_ERR_UPSTREAM_BUSY', 503, 'temporarily_unavailable', 'upstream_busy', 'The upstream service is busy; retry shortly'),
  BODY_TIMEOUT: failure('TG_ERR_BODY_TIMEOUT', 408, 'invalid_request', 'body_timeout', 'The request body was not received in time'),
  UPSTREAM_TIMEOUT: failure('TG_ERR_UPSTREAM_TIMEOUT', 504, 'gateway_timeout', 'upstream_timeout', 'The upstream service did not answer in time'),
  SESSION_EXPIRED: failure('TG_ERR_SESSION_EXPIRED', 401, 'invalid_grant', 'session_expired', 'The session has reached its maximum lifetime; sign in again'),
  LOGOUT_TOKEN_MISSING: failure('TG_ERR_LOGOUT_TOKEN_MISSING', 400, 'invalid_request', 'logout_token_missing', 'A logout_token parameter is required (application/x-www-form-urlencoded)'),
  LOGOUT_TOKEN_MALFORMED: failure('TG_ERR_LOGOUT_TOKEN_MALFORMED', 400, 'invalid_request', 'logout_token_malformed', 'The logout token is not a signed JWT (an encrypted one is not accepted)'),
  LOGOUT_TOKEN_ISSUER: failure('TG_ERR_LOGOUT_TOKEN_ISSUER', 400, 'invalid_request', 'logout_token_issuer', 'The logout token names no issuer configured for back-channel logout'),
  LOGOUT_TOKEN_SIGNATURE: failure('TG_ERR_LOGOUT_TOKEN_SIGNATURE', 400, 'invalid_request', 'logout_token_signature', 'The logout token is not signed by its issuer with one of its ID-token algorithms'),
  LOGOUT_TOKEN_CLAIMS: failure('TG_ERR_LOGOUT_TOKEN_CLAIMS', 400, 'invalid_request', 'logout_token_claims', 'The logout token\'s iss, aud, iat, exp or jti is missing or not accepted'),
  LOGOUT_TOKEN_EVENT: failure('TG_ERR_LOGOUT_TOKEN_EVENT', 400, 'invalid_request', 'logout_token_event', 'The logout token carries no back-channel logout event (events claim)'),
  LOGOUT_TOKEN_SUBJECT: failure('TG_ERR_LOGOUT_TOKEN_SUBJECT', 400, 'invalid_request', 'logout_token_subject', 'The logout token names neither a session (sid) nor a subject (sub)'),
  LOGOUT_TOKEN_NONCE: failure('TG_ERR_LOGOUT_TOKEN_NONCE', 400, 'invalid_request', 'logout_token_nonce', 'A logout token must not carry a nonce'),
  LOGOUT_TOKEN_TYP: failure('TG_ERR_LOGOUT_TOKEN_TYP', 400, 'invalid_request', 'logout_token_typ', 'The logout token\'s typ header is not logout+jwt'),
  LOGOUT_TOKEN_REPLAYED: failure('TG_ERR_LOGOUT_TOKEN_REPLAYED', 400, 'invalid_request', 'logout_token_replayed', 'This logout token (its jti) was already received'),
  REVOCATION_REQUEST_UNAUTHENTICATED: failure('TG_ERR_REVOCATION_REQUEST_UNAUTHENTICATED', 401, 'invalid_token', 'revocation_request_unauthenticated', 'The revocation request\'s bearer JWT is not valid for this endpoint (issuer, key, audience, iat, exp or jti)'),
  REVOCATION_REQUEST_REPLAYED: failure('TG_ERR_REVOCATION_REQUEST_REPLAYED', 401, 'invalid_token', 'revocation_request_replayed', 'This revocation request\'s bearer JWT (its jti) was already used'),
  REVOCATION_SUBJECT_INVALID: failure('TG_ERR_REVOCATION_SUBJECT_INVALID', 400, 'invalid_request', 'revocation_subject_invalid', 'The body must be a JSON object whose sub_id is a subject identifier (RFC 9493)'),
  REVOCATION_SUBJECT_UNSUPPORTED: failure('TG_ERR_REVOCATION_SUBJECT_UNSUPPORTED', 400, 'invalid_request', 'revocation_subject_unsupported', 'The subject identifier cannot be mapped to this issuer\'s tokens (iss_sub; email only where the issuer\'s tokens carry it as sub)'),
  REVOCATION_SUBJECT_FORBIDDEN: failure('TG_ERR_REVOCATION_SUBJECT_FORBIDDEN', 403, 'insufficient_scope', 'revocation_subject_forbidden', 'The caller may not revoke subjects of that issuer'),
  SSF_SET_MALFORMED: failure('TG_ERR_SSF_SET_MALFORMED', 400, 'invalid_request', 'ssf_set_malformed', 'The body is not a signed security event token (RFC 8417) with typ secevent+jwt, jti, iat and events, whose events this receiver can read'),
  SSF_SET_KEY: failure('TG_ERR_SSF_SET_KEY', 400, 'invalid_request', 'ssf_set_key', 'The security event token is not signed by a key and algorithm of its transmitter'),
  SSF_SET_ISSUER: failure('TG_ERR_SSF_SET_ISSUER', 400, 'invalid_request', 'ssf_set_issuer', 'The security event token names no configured transmitter (iss)'),
  SSF_SET_AUDIENCE: failure('TG_ERR_SSF_SET_AUDIENCE', 400, 'invalid_request', 'ssf_set_audience', 'The security event token is not addressed to this receiver (aud)'),
  SSF_SUBJECT_UNMAPPED: failure('TG_ERR_SSF_SUBJECT_UNMAPPED', 400, 'invalid_request', 'ssf_subject_unmapped', 'The subject of the security event cannot be mapped onto the tokens of the issuer it revokes; nothing was revoked'),
  SSF_AUTHENTICATION: failure('TG_ERR_SSF_AUTHENTICATION', 401, 'invalid_client', 'ssf_authentication', 'The transmitter could not be authenticated (Authorization header)'),
  SSF_ACCESS_DENIED: failure('TG_ERR_SSF_ACCESS_DENIED', 403, 'invalid_client', 'ssf_access_denied', 'This transmitter may not push security event tokens of another issuer, or push is not configured for it'),
  INTERNAL: failure('TG_ERR_INTERNAL', 500, 'server_error', 'internal', 'Internal error')
})

export type FailureName = keyof typeof Failures

const REGISTERED: ReadonlySet<unknown> = new Set(Object.values(Failures))
// Copies made by withDescription: weakly held, as their descriptions may be per request.
const DESCRIBED = new WeakSet<Failure>()

/** True for the registry's own Failure values and their described copies (identity, not shape). */
export function isFailure (value: unknown): value is Failure {
  return REGISTERED.has(value) || (typeof value === 'object' && value !== null && DESCRIBED.has(value as Failure))
}

/** A failure with a description specific to one request (never containing a token); isFailure knows it. */
export function withDescription (base: Failure, description: string): Failure {
  const described = Object.freeze({ ...base, description })
  DESCRIBED.add(described)
  return described
}

/** Thrown only where throwing is the natural control flow (route handlers); carries a Failure. */
export class GatewayError extends Error {
  readonly failure: Failure
  constructor (f: Failure, options?: ErrorOptions) {
    super(f.description, options)
    this.name = 'GatewayError'
    this.failure = f
  }
}

/** Raised at start-up: one line per problem, each naming the variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor (problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}
