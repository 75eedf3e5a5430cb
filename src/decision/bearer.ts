import { Failures, type Failure } from '../errors.js'

// RFC 6750 section 2.1: "Bearer" 1*SP b64token
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
// RFC 9449 §7.1: "DPoP" 1*SP token68, accepted only with DPOP=true.
const BEARER_OR_DPOP = /^(?:Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i

/** The token of an Authorization header, or the failure to answer with. */
export function bearerToken (header: string | undefined, maxBytes: number, dpop = false): string | Failure {
  if (header === undefined || header === '') return Failures.TOKEN_MISSING
  if (header.length > maxBytes + 16) return Failures.TOKEN_TOO_LARGE
  const match = (dpop ? BEARER_OR_DPOP : BEARER).exec(header)
  if (match === null) return Failures.HEADER_MALFORMED
  return match[1]
}
