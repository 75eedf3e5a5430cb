import type { Claims } from '../tokens/claims.js'
import { rolesOf, scopesOf } from '../tokens/claims.js'

/** Headers that carry identity to the upstream; whatever a client sends under these names is dropped. */
export const IDENTITY_HEADERS = ['x-user-id', 'x-token-jti', 'x-token-scope', 'x-user-roles'] as const

const HEADER_SAFE = /^[\x20-\x7e]*$/

/** A claim as a header value: printable ASCII as is, anything else percent-encoded (no header injection). */
function headerValue (value: string): string {
  return HEADER_SAFE.test(value) ? value : encodeURIComponent(value)
}

type IdentityHeaders = Record<(typeof IDENTITY_HEADERS)[number], string>

/** Sets the identity headers on `into` (the proxy's outgoing headers, or a fresh object). */
export function identityHeaders<T extends object> (claims: Claims, into: T = {} as T): T & IdentityHeaders {
  const target = into as T & IdentityHeaders
  target['x-user-id'] = headerValue(claims.sub)
  target['x-token-jti'] = headerValue(claims.jti)
  target['x-token-scope'] = headerValue(scopesOf(claims).join(' '))
  target['x-user-roles'] = headerValue(rolesOf(claims).join(','))
  return target
}
