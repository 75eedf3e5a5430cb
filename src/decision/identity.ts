import type { OutgoingHttpHeaders } from 'node:http'
import type { Claims } from '../tokens/claims.js'
import { rolesOf, scopesOf } from '../tokens/claims.js'

/** Headers that carry identity to the upstream; whatever a client sends under these names is dropped. */
// X-User-Issuer: the token's `iss` (empty when it names none). With several trusted issuers a
// subject is only unique within its issuer: the pair (X-User-Issuer, X-User-Id) is the identity.
// X-Token-Binding: how the token was sender-constrained (`dpop`: cnf.jkt, `mtls`: cnf.x5t#S256), empty for a bearer token.
export const IDENTITY_HEADERS = ['x-user-id', 'x-token-jti', 'x-token-scope', 'x-user-roles', 'x-user-issuer', 'x-token-binding'] as const

export type IdentityHeaders = Readonly<Record<(typeof IDENTITY_HEADERS)[number], string>>

/** A verified token's identity, in the two forms it is written in; built once per verified token. */
export interface Identity {
  /** Added to the upstream request (proxy). */
  readonly headers: IdentityHeaders
  /**
   * The whole header set of a forward-auth allow: the identity on an empty, uncached 200, and
   * the request's id, which forward-auth writes in just before writeHead serialises it.
   */
  readonly allowAnswer: OutgoingHttpHeaders & { 'x-request-id': string }
}

// An allow is an empty 200 with an explicit length: nginx drops its keep-alive
// connection to an auth endpoint whose answer has a body, and a chunked empty
// body would cost a second write.
export const ANONYMOUS_ALLOW_ANSWER: OutgoingHttpHeaders = Object.freeze({ 'cache-control': 'no-store', 'content-length': '0' })

// RFC 3986 unreserved characters plus `:` `@` `/`, which every URL decoder
// (decodeURIComponent, Python's unquote and unquote_plus, Go's PathUnescape)
// leaves as they are: `payments:write`, `alice@example.com` and `urn:x/y` stay readable.
const KEPT = /^[A-Za-z0-9\-._~:@/]*$/
const ENCODED_BY_US = /[!'()*]/g

/**
 * A claim as a header value: its UTF-8 bytes percent-encoded except the kept
 * characters above, so `%` itself is `%25`. One decoding gives the claim back,
 * so two different claims never give the same value (`josé` is `jos%C3%A9`,
 * and `jos%C3%A9` is `jos%25C3%25A9`), and no value can carry a separator
 * (`,` in roles, space in scopes) or a line break. Throws URIError on a string
 * that is not well-formed UTF-16 (a lone surrogate).
 */
function encoded (value: string): string {
  if (KEPT.test(value)) return value
  return encodeURIComponent(value)
    .replace(ENCODED_BY_US, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%3A/g, ':').replace(/%40/g, '@').replace(/%2F/g, '/')
}

// Kept on the verified claims themselves: a known token's claims are the
// verified cache's entry, the same object on every request, so the identity is
// built once per verified token with no side table.
const IDENTITY: unique symbol = Symbol('tokengate.identity')
type WithIdentity = Claims & { [IDENTITY]?: Identity | null }

// Per-token objects are not frozen (Readonly types guard them): freezing three objects per new
// token cost more than building them.
function build (claims: Claims): Identity | null {
  let sub: string, jti: string, scope: string, roles: string, issuer: string
  // Passed only with its proof (authorize.ts): the binding checked on this request.
  const binding = claims.cnf?.jkt !== undefined ? 'dpop' : claims.cnf?.x5tS256 !== undefined ? 'mtls' : ''
  try {
    sub = encoded(claims.sub)
    jti = encoded(claims.jti)
    scope = joined(scopesOf(claims), ' ')
    roles = joined(rolesOf(claims), ',')
    issuer = encoded(claims.iss ?? '')
  } catch {
    return null
  }
  return {
    headers: { 'x-user-id': sub, 'x-token-jti': jti, 'x-token-scope': scope, 'x-user-roles': roles, 'x-user-issuer': issuer, 'x-token-binding': binding },
    allowAnswer: { 'cache-control': 'no-store', 'content-length': '0', 'x-user-id': sub, 'x-token-jti': jti, 'x-token-scope': scope, 'x-user-roles': roles, 'x-user-issuer': issuer, 'x-token-binding': binding, 'x-request-id': '' }
  }
}

function joined (values: readonly string[], separator: string): string {
  let out = ''
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : separator) + encoded(values[i])
  return out
}

/**
 * The identity of a verified token; null when a claim cannot be encoded
 * unambiguously (a lone surrogate), which the decision refuses. Scopes are
 * space-joined and roles comma-joined after encoding each one.
 */
export function identityOf (claims: Claims): Identity | null {
  const cached = (claims as WithIdentity)[IDENTITY]
  if (cached !== undefined) return cached
  const identity = build(claims)
  // Not enumerable: a copy of the claims (`{ ...claims, jti }`) must not inherit it.
  if (Object.isExtensible(claims)) Object.defineProperty(claims, IDENTITY, { value: identity })
  return identity
}
