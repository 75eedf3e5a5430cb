import type { Claims } from '../tokens/claims.js'
import { rolesOf, scopesOf } from '../tokens/claims.js'

/** Headers that carry identity to the upstream; whatever a client sends under these names is dropped. */
export const IDENTITY_HEADERS = ['x-user-id', 'x-token-jti', 'x-token-scope', 'x-user-roles'] as const

export type IdentityHeaders = Readonly<Record<(typeof IDENTITY_HEADERS)[number], string>>

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

// Built once per claims object: a known token's claims are the same object on every request.
const built = new WeakMap<Claims, IdentityHeaders | null>()

/**
 * The identity headers of a verified token; null when a claim cannot be
 * encoded unambiguously (a lone surrogate), which the decision refuses.
 * Scopes are space-joined and roles comma-joined after encoding each one.
 */
export function identityOf (claims: Claims): IdentityHeaders | null {
  let headers = built.get(claims)
  if (headers === undefined) {
    try {
      headers = Object.freeze({
        'x-user-id': encoded(claims.sub),
        'x-token-jti': encoded(claims.jti),
        'x-token-scope': scopesOf(claims).map(encoded).join(' '),
        'x-user-roles': rolesOf(claims).map(encoded).join(',')
      })
    } catch {
      headers = null
    }
    built.set(claims, headers)
  }
  return headers
}
