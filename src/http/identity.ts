import type { Claims } from '../tokens/claims.js'
import { rolesOf, scopesOf } from '../tokens/claims.js'

/** Headers that carry identity to the upstream; whatever a client sends under these names is dropped. */
export const IDENTITY_HEADERS = ['x-user-id', 'x-token-jti', 'x-token-scope', 'x-user-roles'] as const

const HEADER_SAFE = /^[\x20-\x7e]*$/

/** A claim as a header value: printable ASCII as is, anything else percent-encoded (no header injection). */
function headerValue (value: string): string {
  return HEADER_SAFE.test(value) ? value : encodeURIComponent(value)
}

export type IdentityHeaders = Readonly<Record<(typeof IDENTITY_HEADERS)[number], string>>

// The verified-token cache hands out the same claims object for the same token: its headers are built once.
const built = new WeakMap<Claims, IdentityHeaders>()

export function identityHeaders (claims: Claims): IdentityHeaders {
  let headers = built.get(claims)
  if (headers === undefined) {
    headers = buildIdentityHeaders(claims)
    built.set(claims, headers)
  }
  return headers
}

/** Uncached: for a caller that keeps the result itself. */
export function buildIdentityHeaders (claims: Claims): IdentityHeaders {
  return Object.freeze({
    'x-user-id': headerValue(claims.sub),
    'x-token-jti': headerValue(claims.jti),
    'x-token-scope': headerValue(scopesOf(claims).join(' ')),
    'x-user-roles': headerValue(rolesOf(claims).join(','))
  })
}
